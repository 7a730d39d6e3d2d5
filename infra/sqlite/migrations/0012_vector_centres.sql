-- The centre of each model's vectors, fixed by the first vectors stored for it: a vector's sign
-- bits (chunk_vectors.bits) are taken of it less this centre (JSON array of numbers). The built-in
-- embedder's vectors are centred by construction and have none; neither have vectors stored
-- before this table, until `docent migrate` centres them.
CREATE TABLE IF NOT EXISTS vector_centres (
    model TEXT PRIMARY KEY,
    centre TEXT NOT NULL);
