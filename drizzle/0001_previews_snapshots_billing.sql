CREATE TABLE "preview" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"sandbox_id" uuid NOT NULL,
	"port" integer NOT NULL,
	"visibility" text DEFAULT 'private' NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "preview_share" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"preview_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"token_prefix" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"active" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE "snapshot" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"workspace_id" uuid,
	"project_id" uuid,
	"sandbox_id" uuid,
	"host_id" uuid,
	"created_by" uuid,
	"template_id" text NOT NULL,
	"size" text NOT NULL,
	"status" text DEFAULT 'creating' NOT NULL,
	"kind" text DEFAULT 'filesystem' NOT NULL,
	"comment" text,
	"size_bytes" bigint,
	"content_hash" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ready_at" timestamp with time zone,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "budget_alert" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"name" text NOT NULL,
	"threshold_micro" bigint NOT NULL,
	"period" text DEFAULT 'month' NOT NULL,
	"last_triggered_period" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_balance" (
	"organization_id" uuid PRIMARY KEY NOT NULL,
	"balance_micro" bigint DEFAULT 0 NOT NULL,
	"last_transaction_id" bigint,
	"exhausted_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_transaction" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"amount_micro" bigint NOT NULL,
	"balance_after_micro" bigint NOT NULL,
	"description" text,
	"reference" text,
	"expires_at" timestamp with time zone,
	"created_by" uuid,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "quota" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"external_user_id" text NOT NULL,
	"max_sandboxes" integer,
	"max_concurrent" integer,
	"max_storage_bytes" bigint,
	"max_credit_spend_micro" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_record" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"segment_id" uuid NOT NULL,
	"workspace_id" uuid,
	"project_id" uuid,
	"external_workspace_id" text,
	"external_project_id" text,
	"external_user_id" text,
	"resource_type" text NOT NULL,
	"resource_id" text NOT NULL,
	"dimension" text NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"quantity_milli" bigint NOT NULL,
	"credits_micro" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_segment" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"workspace_id" uuid,
	"project_id" uuid,
	"external_workspace_id" text,
	"external_project_id" text,
	"external_user_id" text,
	"resource_type" text NOT NULL,
	"resource_id" text NOT NULL,
	"host_id" uuid,
	"size" text,
	"cpu_count" integer DEFAULT 0 NOT NULL,
	"memory_mb" integer DEFAULT 0 NOT NULL,
	"storage_bytes" bigint DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"metered_until" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "preview" ADD CONSTRAINT "preview_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "preview" ADD CONSTRAINT "preview_sandbox_id_sandbox_id_fk" FOREIGN KEY ("sandbox_id") REFERENCES "public"."sandbox"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "preview" ADD CONSTRAINT "preview_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "preview_share" ADD CONSTRAINT "preview_share_preview_id_preview_id_fk" FOREIGN KEY ("preview_id") REFERENCES "public"."preview"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshot" ADD CONSTRAINT "snapshot_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshot" ADD CONSTRAINT "snapshot_workspace_id_workspace_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspace"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshot" ADD CONSTRAINT "snapshot_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshot" ADD CONSTRAINT "snapshot_sandbox_id_sandbox_id_fk" FOREIGN KEY ("sandbox_id") REFERENCES "public"."sandbox"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshot" ADD CONSTRAINT "snapshot_host_id_host_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."host"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshot" ADD CONSTRAINT "snapshot_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "budget_alert" ADD CONSTRAINT "budget_alert_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_balance" ADD CONSTRAINT "credit_balance_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_transaction" ADD CONSTRAINT "credit_transaction_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_transaction" ADD CONSTRAINT "credit_transaction_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quota" ADD CONSTRAINT "quota_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_record" ADD CONSTRAINT "usage_record_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_segment" ADD CONSTRAINT "usage_segment_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "preview_sandbox_port_idx" ON "preview" USING btree ("sandbox_id","port") WHERE "preview"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "preview_org_idx" ON "preview" USING btree ("organization_id");--> statement-breakpoint
CREATE UNIQUE INDEX "preview_share_token_idx" ON "preview_share" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "preview_share_preview_idx" ON "preview_share" USING btree ("preview_id");--> statement-breakpoint
CREATE INDEX "snapshot_org_idx" ON "snapshot" USING btree ("organization_id","created_at");--> statement-breakpoint
CREATE INDEX "snapshot_sandbox_idx" ON "snapshot" USING btree ("sandbox_id");--> statement-breakpoint
CREATE INDEX "budget_alert_org_idx" ON "budget_alert" USING btree ("organization_id");--> statement-breakpoint
CREATE UNIQUE INDEX "credit_txn_reference_idx" ON "credit_transaction" USING btree ("organization_id","reference") WHERE "credit_transaction"."reference" is not null;--> statement-breakpoint
CREATE INDEX "credit_txn_org_idx" ON "credit_transaction" USING btree ("organization_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "quota_org_user_idx" ON "quota" USING btree ("organization_id","external_user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "usage_record_unique_idx" ON "usage_record" USING btree ("segment_id","minute","dimension");--> statement-breakpoint
CREATE INDEX "usage_record_org_minute_idx" ON "usage_record" USING btree ("organization_id","minute");--> statement-breakpoint
CREATE INDEX "usage_segment_open_idx" ON "usage_segment" USING btree ("ended_at","metered_until");--> statement-breakpoint
CREATE INDEX "usage_segment_resource_idx" ON "usage_segment" USING btree ("resource_id");--> statement-breakpoint
CREATE INDEX "usage_segment_org_idx" ON "usage_segment" USING btree ("organization_id","started_at");