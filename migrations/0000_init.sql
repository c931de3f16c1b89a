CREATE TABLE `accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text DEFAULT 'default' NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`last4` text NOT NULL,
	`scopes` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_account` ON `api_keys` (`account_id`);--> statement-breakpoint
CREATE TABLE `delivery_attempts` (
	`webhook_id` text NOT NULL,
	`delivery_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`id` text NOT NULL,
	`account_id` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`status` text NOT NULL,
	`trigger` text NOT NULL,
	`started_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`request_headers` text,
	`response_code` integer,
	`response_headers` text,
	`response_body` text,
	`error` text,
	`next_attempt_at` integer,
	PRIMARY KEY(`webhook_id`, `delivery_id`, `attempt`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `attempts_retry_due` ON `delivery_attempts` (`next_attempt_at`) WHERE "delivery_attempts"."status" = 'retrying';--> statement-breakpoint
CREATE TABLE `event_types` (
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`id` text NOT NULL,
	`description` text NOT NULL,
	`schema` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `name`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `events` (
	`account_id` text NOT NULL,
	`id` text NOT NULL,
	`type` text NOT NULL,
	`created_at` integer NOT NULL,
	`data` text NOT NULL,
	`metadata` text NOT NULL,
	`project_id` text,
	`severity` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`idempotency_key` text,
	PRIMARY KEY(`account_id`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE UNIQUE INDEX `events_idempotency` ON `events` (`account_id`,`idempotency_key`) WHERE idempotency_key IS NOT NULL;--> statement-breakpoint
CREATE TABLE `usage_counters` (
	`account_id` text PRIMARY KEY NOT NULL,
	`worker_requests` integer DEFAULT 0 NOT NULL,
	`d1_rows_read` integer DEFAULT 0 NOT NULL,
	`d1_rows_written` integer DEFAULT 0 NOT NULL,
	`do_requests` integer DEFAULT 0 NOT NULL,
	`do_rows_read` integer DEFAULT 0 NOT NULL,
	`do_rows_written` integer DEFAULT 0 NOT NULL,
	`do_alarms_set` integer DEFAULT 0 NOT NULL,
	`queue_operations` integer DEFAULT 0 NOT NULL,
	`events_accepted` integer DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`retries` integer DEFAULT 0 NOT NULL,
	`deliveries_succeeded` integer DEFAULT 0 NOT NULL,
	`deliveries_failed` integer DEFAULT 0 NOT NULL,
	`latency_le_25` integer DEFAULT 0 NOT NULL,
	`latency_le_50` integer DEFAULT 0 NOT NULL,
	`latency_le_100` integer DEFAULT 0 NOT NULL,
	`latency_le_250` integer DEFAULT 0 NOT NULL,
	`latency_le_500` integer DEFAULT 0 NOT NULL,
	`latency_le_1000` integer DEFAULT 0 NOT NULL,
	`latency_le_2500` integer DEFAULT 0 NOT NULL,
	`latency_le_5000` integer DEFAULT 0 NOT NULL,
	`latency_le_10000` integer DEFAULT 0 NOT NULL,
	`latency_le_inf` integer DEFAULT 0 NOT NULL,
	`latency_sum_ms` integer DEFAULT 0 NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`secret` text NOT NULL,
	`filters` text,
	`retry_config` text,
	`ordering` text DEFAULT 'fifo' NOT NULL,
	`max_in_flight` integer DEFAULT 6 NOT NULL,
	`rate_limit_per_second` integer,
	`timeout_ms` integer DEFAULT 10000 NOT NULL,
	`format` text DEFAULT 'json' NOT NULL,
	`templates` text,
	`headers` text,
	`previous_secrets` text,
	`status` text DEFAULT 'active' NOT NULL,
	`disabled_reason` text,
	`description` text,
	`metadata` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhooks_account` ON `webhooks` (`account_id`,`id`);