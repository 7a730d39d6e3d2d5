-- Chunk embeddings, as sign bits (hex) for the first pass and int8 (base64) for rescoring. A
-- trigger removes a chunk's vector with the chunk, whichever path deletes it.
CREATE TABLE IF NOT EXISTS chunk_vectors (
    chunk_id TEXT PRIMARY KEY,
    url_key TEXT NOT NULL,
    model TEXT NOT NULL,
    bits TEXT NOT NULL,
    int8 TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunk_vectors_model ON chunk_vectors (model);
CREATE TRIGGER IF NOT EXISTS chunk_vectors_follow_chunks AFTER DELETE ON chunks BEGIN
    DELETE FROM chunk_vectors WHERE chunk_id = old.id;
END;
