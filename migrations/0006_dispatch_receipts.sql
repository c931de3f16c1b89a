CREATE TABLE `dispatch_receipts` (
	`last_id` text NOT NULL,
	`nonce` text NOT NULL,
	`first_id` text NOT NULL,
	`event_ids` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`last_id`, `nonce`)
) WITHOUT ROWID;
