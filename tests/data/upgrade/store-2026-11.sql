-- A store written by ambient as of late November 2026 (its first releases): a version-1
-- baseline, a rule's state, an open episode's HA undo record and two traces, from replaying
-- ambient/data/demo.csv (hourly) with calm_lights. tests/test_upgrade.py reads it.
CREATE TABLE kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
INSERT INTO "kv" VALUES('signals.baseline','alex','{"version":1,"days":{"20792":[203.0,779.9580869837858,3067.0484999534924,16488.797222010373,1353436.3323588197]}}');
INSERT INTO "kv" VALUES('rules','calm_alex','{"fingerprint":"08d9ed0b84593b29","persons":{"alex":{"triggers":{"0":{"phase":"active","since":1796497233.6512706,"for_until":null}},"cooldown_until":1796498553.9413116,"last_fired":1796497353.9413116,"episodes":{"0":{"id":"calm_alex:alex:1796497353.941","trigger":0,"trigger_id":"stressed","fired_at":1796497353.9413116,"next_level":0,"signals":{"stress_score":98.9}}},"runs":{}}},"entity_pending":{}}');
INSERT INTO "kv" VALUES('ha.episodes','calm_alex:alex:1796497353.941','{"lights":{"light.bed_light":{"scene_entity_id":"scene.ambient_calm_alex_alex_1796497353_941_light_bed_light","restore":true,"overridden_by":null},"light.ceiling_lights":{"scene_entity_id":"scene.ambient_calm_alex_alex_1796497353_941_light_ceiling_lights","restore":true,"overridden_by":null}},"media":{},"ended":false}');
CREATE TABLE log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL
);
INSERT INTO "log" VALUES(10,'traces','calm_alex','{"t":1796497375.875344,"rule":"calm_alex","event":"action_failed","reason":"notify failed: HA rejected notify for notify.notify: not_found: Service notify.notify not found.","person":"alex","trigger":"stressed","signals":{"stress_score":98.9},"conditions":[],"actions":[{"action":"notify","ok":false,"detail":"HA rejected notify for notify.notify: not_found: Service notify.notify not found.","performed":true}]}');
INSERT INTO "log" VALUES(11,'traces','calm_alex','{"t":1796497353.9413116,"rule":"calm_alex","event":"fired","reason":"stress_score 98.9 above 70 for 2min","person":"alex","trigger":"stressed","signals":{"stress_score":98.9},"conditions":[],"actions":[{"action":"calm_lights","ok":true,"detail":"light.bed_light, light.ceiling_lights at 2400 K 35%","performed":true},{"action":"notify","ok":false,"detail":"HA rejected notify for notify.notify: not_found: Service notify.notify not found.","performed":true}]}');
CREATE INDEX log_by_key ON log (namespace, key, id);
