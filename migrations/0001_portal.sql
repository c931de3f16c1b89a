CREATE TABLE `portal_links` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`key_id` text NOT NULL,
	`sealed_key` text NOT NULL,
	`webhook_ids` text,
	`read_only` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`consumed_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `portal_links_token_hash_unique` ON `portal_links` (`token_hash`);--> statement-breakpoint
CREATE INDEX `portal_links_account` ON `portal_links` (`account_id`,`id`);