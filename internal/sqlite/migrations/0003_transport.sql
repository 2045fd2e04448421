-- 0003: the RTSP transport of each camera: '' (= tcp), 'tcp', 'udp' or 'auto'.

ALTER TABLE cameras ADD COLUMN transport TEXT NOT NULL DEFAULT '';
