-- 0007: the districts' summary (DB.Districts) reads one index, not the table.

-- A district's cameras by owner, then by row of zoom-16 cells (cell >> 20,
-- about 76 m of latitude), then position: the summary aggregates each row's
-- count and extremes in index order, without sorting and without reading a
-- camera's row.
CREATE INDEX cameras_district_row ON cameras (district, org_id, cell >> 20, lat, lon, cell);
