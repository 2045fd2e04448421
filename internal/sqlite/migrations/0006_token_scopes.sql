-- 0006: scoped API tokens and users vouched for by an identity provider.

-- A token's scope: the only actions it may take and the only cameras it may
-- act on. JSON arrays, sorted; empty arrays leave the user's role to decide.
ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tokens ADD COLUMN camera_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tokens ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

-- Who vouches for a user: '' for a password kept here, 'oidc' for a user an
-- OIDC sign-in made (without a password).
ALTER TABLE users ADD COLUMN provider TEXT NOT NULL DEFAULT '';
