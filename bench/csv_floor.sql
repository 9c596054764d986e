-- What PostgreSQL itself needs to produce the CSV export's default columns: the same texts
-- (applicant, state label, group, local dates, followers, labels, unread messages, pending
-- correction) for 50,000 dossiers of the largest procedure, written by COPY. The seed is
-- deterministic: procedure 1 is the largest, user 33 the agent the table benchmark uses.
--
--     psql -h 127.0.0.1 -U postgres guichet_bench -f bench/csv_floor.sql
--
-- The first COPY has every column, the second leaves out the four per-dossier lookups.
-- Each runs twice: the first run reads from disk, the second from memory.
\timing on
\set columns 'd.id::text, COALESCE(NULLIF(d.identity->>''name'', ''''), NULLIF(concat_ws('' '', NULLIF(d.identity->>''first_name'', ''''), NULLIF(d.identity->>''last_name'', '''')), ''''), (SELECT email FROM ab_user WHERE id = d.owner_id), ''''), CASE d.state WHEN ''submitted'' THEN ''Déposé'' WHEN ''in_review'' THEN ''En instruction'' ELSE ''Terminé'' END, CASE d.group_id WHEN 1 THEN ''Groupe 1'' ELSE '''' END, to_char(d.submitted_at AT TIME ZONE ''Europe/Paris'', ''YYYY-MM-DD HH24:MI''), to_char(d.updated_at AT TIME ZONE ''Europe/Paris'', ''YYYY-MM-DD HH24:MI'')'
\set lookups '(SELECT string_agg(COALESCE(NULLIF(concat_ws('' '', NULLIF(u.first_name, ''''), NULLIF(u.last_name, '''')), ''''), u.email), '', '' ORDER BY u.last_name, u.first_name, u.id) FROM follow f JOIN ab_user u ON u.id = f.user_id WHERE f.dossier_id = d.id), (SELECT string_agg(l.name, '', '' ORDER BY l.name) FROM dossier_label dl JOIN label l ON l.id = dl.label_id WHERE dl.dossier_id = d.id), (SELECT count(*) FROM message m JOIN follow f ON f.dossier_id = m.dossier_id AND f.user_id = 33 WHERE m.dossier_id = d.id AND m.deleted_at IS NULL AND (m.author_id IS NULL OR m.author_id <> 33) AND (f.messages_seen_at IS NULL OR m.created_at > f.messages_seen_at)), CASE WHEN EXISTS (SELECT 1 FROM message m WHERE m.dossier_id = d.id AND m.correction_reason IS NOT NULL AND m.correction_resolved_at IS NULL) THEN ''Oui'' ELSE '''' END'
\set rows 'FROM dossier d WHERE d.procedure_id = 1 AND d.state <> ''draft'' AND d.hidden_by_administration_at IS NULL AND NOT d.archived ORDER BY d.id LIMIT 50000'
COPY (SELECT :columns, :lookups :rows) TO STDOUT (FORMAT csv, DELIMITER ';') \g /dev/null
COPY (SELECT :columns, :lookups :rows) TO STDOUT (FORMAT csv, DELIMITER ';') \g /dev/null
COPY (SELECT :columns :rows) TO STDOUT (FORMAT csv, DELIMITER ';') \g /dev/null
COPY (SELECT :columns :rows) TO STDOUT (FORMAT csv, DELIMITER ';') \g /dev/null
