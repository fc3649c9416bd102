-- Recipients no longer keep a copy of their CSV row's other columns. Nothing
-- read them: what is sent (the rendered message, the template, the number) has
-- its own columns, and the loaded file itself is kept in `processed/` with
-- `row_number` and `line_number` pointing into it. The copy was the largest
-- part of every recipient row — a jsonb with every column name repeated —
-- and made loading a large file a fifth slower.
ALTER TABLE recipients DROP COLUMN variables;
