CREATE TABLE `attempt_packs` (
	`webhook_id` text NOT NULL,
	`last_id` text NOT NULL,
	`id` text NOT NULL,
	`first_id` text NOT NULL,
	`account_id` text NOT NULL,
	`n` integer NOT NULL,
	`items` text NOT NULL,
	PRIMARY KEY(`webhook_id`, `last_id`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
-- One row per packed entry, shaped like delivery_attempts (fields: PACK_FIELDS in src/db/attempt-packs.ts).
CREATE VIEW `packed_attempts` AS SELECT
	p.webhook_id AS webhook_id,
	json_extract(j.value, '$[0]') AS delivery_id,
	1 AS attempt,
	json_extract(j.value, '$[1]') AS id,
	p.account_id AS account_id,
	'evt_' || substr(json_extract(j.value, '$[0]'), 5, 26) AS event_id,
	json_extract(j.value, '$[2]') AS event_type,
	'succeeded' AS status,
	'scheduled' AS "trigger",
	json_extract(j.value, '$[3]') AS started_at,
	json_extract(j.value, '$[4]') AS duration_ms,
	json_extract(j.value, '$[5]') AS request_headers,
	json_extract(j.value, '$[6]') AS response_code,
	json_extract(j.value, '$[7]') AS response_headers,
	json_extract(j.value, '$[8]') AS response_body,
	NULL AS error,
	NULL AS next_attempt_at,
	json_extract(j.value, '$[9]') AS trace_parent,
	p.first_id AS pack_first,
	p.last_id AS pack_last
FROM attempt_packs p, json_each(p.items) j;
--> statement-breakpoint
-- Every attempt: the table's rows (their own range: pack_first = pack_last = delivery_id) and the packed ones.
CREATE VIEW `all_attempts` AS
SELECT webhook_id, delivery_id, attempt, id, account_id, event_id, event_type, status, "trigger", started_at, duration_ms,
	request_headers, response_code, response_headers, response_body, error, next_attempt_at, trace_parent,
	delivery_id AS pack_first, delivery_id AS pack_last
FROM delivery_attempts
UNION ALL
SELECT * FROM packed_attempts;
