package access_test

import (
	"strings"
	"testing"

	"argus"
	"argus/internal/access"
)

// fastArgon2 keeps tests quick; production uses DefaultArgon2Params.
func fastArgon2() access.Argon2Params { return access.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1} }

func TestHashAndCheckPassword(t *testing.T) {
	const pw = "correct horse battery"
	enc, err := fastArgon2().Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoded hash %q is not in PHC form with the given parameters", enc)
	}
	again, err := fastArgon2().Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	if again == enc {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		name string
		pw   string
		want bool
	}{
		{"right password", pw, true},
		{"wrong password", pw + "!", false},
		{"empty password", "", false},
		{"case differs", strings.ToUpper(pw), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := access.CheckPassword(enc, tc.pw)
			if err != nil || ok != tc.want {
				t.Fatalf("CheckPassword = %v, %v; want %v, nil", ok, err, tc.want)
			}
		})
	}
}

func TestDefaultArgon2Params(t *testing.T) {
	// RFC 9106 §4, second recommended option.
	if got, want := access.DefaultArgon2Params(), (access.Argon2Params{MemoryKiB: 65536, Time: 3, Threads: 4}); got != want {
		t.Fatalf("DefaultArgon2Params() = %+v, want %+v", got, want)
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	good, err := fastArgon2().Hash("long enough password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	for _, tc := range []struct{ name, enc string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuv"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"wrong version", strings.Replace(good, "v=19", "v=16", 1)},
		{"missing hash", strings.Join(parts[:5], "$")},
		{"bad salt", strings.Replace(good, parts[4], "!!!", 1)},
		{"short hash", strings.Replace(good, parts[5], "AAAA", 1)},
		{"unknown parameter", strings.Replace(good, "p=1", "p=1,x=2", 1)},
		{"huge memory", strings.Replace(good, "m=64", "m=4194304", 1)},
		{"zero time", strings.Replace(good, "t=1", "t=0", 1)},
		{"non-numeric", strings.Replace(good, "t=1", "t=one", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := access.CheckPassword(tc.enc, "long enough password")
			if err == nil || ok {
				t.Fatalf("CheckPassword(%q) = %v, %v; want false and an error", tc.enc, ok, err)
			}
		})
	}
}

func TestValidatePassword(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		wantErr  string
	}{
		{"twelve characters", "abcdefghijkl", ""},
		{"twelve runes of multibyte text", "ééééééééééé1", ""},
		{"eleven characters", "abcdefghijk", "password must be at least 12 characters"},
		{"empty", "", "password must be at least 12 characters"},
		{"too long", strings.Repeat("x", access.MaxPasswordBytes+1), "password is longer than 1024 bytes"},
		{"invalid UTF-8", "abcdefghijkl\xff", "password is not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := access.ValidatePassword(tc.pw)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidatePassword = %v, want nil", err)
				}
				return
			}
			if argus.ErrorCode(err) != argus.EINVALID || argus.ErrorField(err) != "password" {
				t.Fatalf("ValidatePassword = %v (code %q field %q), want EINVALID on field password", err, argus.ErrorCode(err), argus.ErrorField(err))
			}
			if msg := err.(*argus.Error).Message; msg != tc.wantErr {
				t.Fatalf("message %q, want %q", msg, tc.wantErr)
			}
			if _, herr := fastArgon2().Hash(tc.pw); argus.ErrorCode(herr) != argus.EINVALID {
				t.Fatalf("Hash accepted a password ValidatePassword rejects: %v", herr)
			}
		})
	}
}

func TestGeneratePassword(t *testing.T) {
	a, b := access.GeneratePassword(), access.GeneratePassword()
	if a == b {
		t.Fatal("two generated passwords are equal")
	}
	if err := access.ValidatePassword(a); err != nil {
		t.Fatalf("generated password %q is not acceptable: %v", a, err)
	}
}
