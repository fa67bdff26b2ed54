-- tests/store/schema-v3.sql: a library as MVaEMa schema version 3 wrote it, with data.
-- Frozen: never edit; test-store.c migrates it to the current schema.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE micrographs (
  id INTEGER PRIMARY KEY,
  sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
  path TEXT,
  file_size INTEGER NOT NULL DEFAULT -1,
  width INTEGER NOT NULL DEFAULT 0,
  height INTEGER NOT NULL DEFAULT 0,
  channels INTEGER NOT NULL DEFAULT 0,
  bit_depth INTEGER NOT NULL DEFAULT 0,
  format TEXT,
  pixel_size_nm REAL,
  instrument TEXT,
  category TEXT,
  category_source TEXT NOT NULL DEFAULT 'none'
    CHECK (category_source IN ('none','user','import','prediction')),
  load_error TEXT,
  added_at INTEGER NOT NULL
, metadata_json TEXT);
INSERT INTO micrographs VALUES(1,'1111111111111111111111111111111111111111111111111111111111111111','/data/nanowires/nw1.tif',1048576,1024,943,1,8,'TIFF',31.0,'FEI Quanta FEG','nanowires','import',NULL,1764000000000000,'{"hv_kv":10.0}');
INSERT INTO micrographs VALUES(2,'2222222222222222222222222222222222222222222222222222222222222222','/data/unsorted/x.png',2048,64,64,1,8,'PNG',NULL,NULL,NULL,'none',NULL,1764000000000001,NULL);
CREATE TABLE model_versions (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  file_path TEXT NOT NULL,
  sha256 TEXT,
  parent_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,
  training_run_id INTEGER REFERENCES training_runs(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  adopted INTEGER NOT NULL DEFAULT 0 CHECK (adopted IN (0, 1))
, metrics_json TEXT);
INSERT INTO model_versions VALUES(1,'mvaema-s32 base','/models/base.safetensors',NULL,NULL,NULL,1764000000000002,1,'{"bleu4":0.7}');
CREATE TABLE training_runs (
  id INTEGER PRIMARY KEY,
  base_model_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,
  config_json TEXT NOT NULL CHECK (json_valid(config_json)),
  state TEXT NOT NULL
    CHECK (state IN ('pending','running','finished','failed','cancelled')),
  epochs_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(epochs_json)),
  error_message TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL DEFAULT 0
, dataset_id INTEGER
  REFERENCES datasets(id) ON DELETE SET NULL);
INSERT INTO training_runs VALUES(1,1,'{"lr":0.001}','finished','[{"epoch":1,"loss":2.0}]',NULL,1764000000000008,1764000000000009,NULL);
CREATE TABLE qa_pairs (
  id INTEGER PRIMARY KEY,
  micrograph_id INTEGER NOT NULL REFERENCES micrographs(id) ON DELETE CASCADE,
  source TEXT NOT NULL CHECK (source IN ('user','teacher','synthetic','model')),
  model_version_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,
  family INTEGER NOT NULL DEFAULT 0 CHECK (family BETWEEN 0 AND 10),
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  tokens BLOB,
  attention BLOB,
  params_json TEXT,
  dedup_key TEXT UNIQUE,
  created_at INTEGER NOT NULL
, teacher_model TEXT, prompt_tokens INTEGER NOT NULL DEFAULT -1, completion_tokens INTEGER NOT NULL DEFAULT -1, review_state INTEGER NOT NULL DEFAULT 0
  CHECK (review_state BETWEEN 0 AND 3), category TEXT);
INSERT INTO qa_pairs VALUES(1,1,'model',1,3,'How wide are the wires?','About 50 nm.',X'0400000011000000',NULL,NULL,NULL,1764000000000003,NULL,-1,-1,2,'nanowires');
INSERT INTO qa_pairs VALUES(2,1,'synthetic',NULL,1,'What is shown?','Nanowires.',NULL,NULL,'{"seed":7}','aaaa',1764000000000004,NULL,-1,-1,0,'nanowires');
CREATE TABLE reviews (
  id INTEGER PRIMARY KEY,
  qa_id INTEGER NOT NULL REFERENCES qa_pairs(id) ON DELETE CASCADE,
  state TEXT NOT NULL CHECK (state IN ('accepted','corrected','rejected')),
  corrected_text TEXT CHECK (state <> 'corrected' OR corrected_text IS NOT NULL),
  reviewer TEXT,
  reviewed_at INTEGER NOT NULL
);
INSERT INTO reviews VALUES(1,1,'accepted',NULL,'alice',1764000000000005);
INSERT INTO reviews VALUES(2,1,'corrected','Bundled nanowires, about 40 nm wide.','bob',1764000000000006);
CREATE TABLE datasets (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  created_at INTEGER NOT NULL
);
INSERT INTO datasets VALUES(1,'reviewed',NULL,1764000000000007);
CREATE TABLE dataset_items (
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  qa_id INTEGER NOT NULL REFERENCES qa_pairs(id) ON DELETE CASCADE,
  split TEXT NOT NULL CHECK (split IN ('train','val','test')),
  fold INTEGER NOT NULL DEFAULT -1,
  PRIMARY KEY (dataset_id, qa_id)
) WITHOUT ROWID;
INSERT INTO dataset_items VALUES(1,1,'train',0);
CREATE TABLE teacher_requests (
  id INTEGER PRIMARY KEY,
  micrograph_id INTEGER NOT NULL REFERENCES micrographs(id) ON DELETE CASCADE,
  family INTEGER NOT NULL CHECK (family BETWEEN 0 AND 10),
  model TEXT,
  status TEXT NOT NULL CHECK (status IN ('ok','failed')),
  reason TEXT,
  prompt_tokens INTEGER NOT NULL DEFAULT -1,
  completion_tokens INTEGER NOT NULL DEFAULT -1,
  created_at INTEGER NOT NULL
);
INSERT INTO teacher_requests VALUES(1,1,2,'gpt-4v','failed','HTTP 429',-1,-1,1764000000000010);
CREATE UNIQUE INDEX model_versions_adopted ON model_versions(adopted) WHERE adopted = 1;
CREATE INDEX qa_pairs_micrograph ON qa_pairs(micrograph_id);
CREATE INDEX qa_pairs_model ON qa_pairs(model_version_id) WHERE model_version_id IS NOT NULL;
CREATE INDEX reviews_qa ON reviews(qa_id, id);
CREATE INDEX dataset_items_qa ON dataset_items(qa_id);
CREATE INDEX teacher_requests_lookup ON teacher_requests(micrograph_id, family, status);
CREATE INDEX qa_pairs_page ON qa_pairs(category, review_state, id);
CREATE INDEX qa_pairs_state ON qa_pairs(review_state, id);
CREATE INDEX micrographs_category ON micrographs(category, id);
CREATE TRIGGER reviews_after_insert AFTER INSERT ON reviews BEGIN
  UPDATE qa_pairs SET review_state = CASE NEW.state
    WHEN 'accepted' THEN 1 WHEN 'corrected' THEN 2 ELSE 3 END
  WHERE id = NEW.qa_id;
END;
CREATE TRIGGER reviews_after_delete AFTER DELETE ON reviews BEGIN
  UPDATE qa_pairs SET review_state = COALESCE((SELECT CASE r.state
      WHEN 'accepted' THEN 1 WHEN 'corrected' THEN 2 ELSE 3 END
    FROM reviews r WHERE r.qa_id = OLD.qa_id ORDER BY r.id DESC LIMIT 1), 0)
  WHERE id = OLD.qa_id;
END;
CREATE TRIGGER micrographs_after_category AFTER UPDATE OF category ON micrographs BEGIN
  UPDATE qa_pairs SET category = NEW.category WHERE micrograph_id = NEW.id;
END;
CREATE TRIGGER qa_pairs_after_insert AFTER INSERT ON qa_pairs
  WHEN NEW.category IS NOT (SELECT category FROM micrographs WHERE id = NEW.micrograph_id)
BEGIN
  UPDATE qa_pairs SET category =
    (SELECT category FROM micrographs WHERE id = NEW.micrograph_id) WHERE id = NEW.id;
END;
COMMIT;
PRAGMA user_version = 3;
PRAGMA application_id = 1297498437;
