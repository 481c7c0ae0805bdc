CREATE TABLE "computer_service" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"computer_id" uuid NOT NULL,
	"organization_id" uuid NOT NULL,
	"name" text NOT NULL,
	"command" text NOT NULL,
	"env" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"cwd" text DEFAULT '/home/user' NOT NULL,
	"restart_policy" text DEFAULT 'on-failure' NOT NULL,
	"max_restarts" integer DEFAULT 10 NOT NULL,
	"backoff_ms" integer DEFAULT 1000 NOT NULL,
	"desired" text DEFAULT 'running' NOT NULL,
	"status" text DEFAULT 'starting' NOT NULL,
	"sandbox_id" uuid,
	"pid" integer,
	"restart_count" integer DEFAULT 0 NOT NULL,
	"last_exit_code" integer,
	"last_signal" text,
	"last_error" text,
	"next_restart_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"exited_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "computer_service" ADD CONSTRAINT "computer_service_computer_id_computer_id_fk" FOREIGN KEY ("computer_id") REFERENCES "public"."computer"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "computer_service" ADD CONSTRAINT "computer_service_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "computer_service_name_idx" ON "computer_service" USING btree ("computer_id","name");--> statement-breakpoint
CREATE INDEX "computer_service_pid_idx" ON "computer_service" USING btree ("sandbox_id","pid");