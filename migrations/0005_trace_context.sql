ALTER TABLE `delivery_attempts` ADD `trace_parent` text;--> statement-breakpoint
ALTER TABLE `events` ADD `trace_parent` text;--> statement-breakpoint
ALTER TABLE `events` ADD `trace_state` text;