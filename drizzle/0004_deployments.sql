CREATE TABLE "deployment" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"created_by" uuid,
	"name" text NOT NULL,
	"slug" text NOT NULL,
	"source_type" text DEFAULT 'sandbox' NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"config" jsonb NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"external_workspace_id" text,
	"external_project_id" text,
	"external_user_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "deployment_blob" (
	"sha256" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "deployment_env_var" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"deployment_id" text NOT NULL,
	"environment" text DEFAULT 'production' NOT NULL,
	"key" text NOT NULL,
	"value_sealed" text NOT NULL,
	"is_secret" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployment_instance" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"deployment_id" text NOT NULL,
	"version_id" text NOT NULL,
	"sandbox_id" uuid,
	"state" text DEFAULT 'provisioning' NOT NULL,
	"port" integer NOT NULL,
	"pid" integer,
	"restarts" integer DEFAULT 0 NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_health_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"stopped_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "deployment_release" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"deployment_id" text NOT NULL,
	"version_id" text NOT NULL,
	"kind" text NOT NULL,
	"sha256" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"start_command" text,
	"port" integer,
	"health_check_path" text,
	"build_duration_ms" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployment_route" (
	"deployment_id" text NOT NULL,
	"environment" text NOT NULL,
	"version_id" text NOT NULL,
	"previous_version_id" text,
	"promoted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"promoted_by" uuid,
	CONSTRAINT "deployment_route_deployment_id_environment_pk" PRIMARY KEY("deployment_id","environment")
);
--> statement-breakpoint
CREATE TABLE "deployment_version" (
	"id" text PRIMARY KEY NOT NULL,
	"deployment_id" text NOT NULL,
	"organization_id" uuid NOT NULL,
	"workspace_id" uuid,
	"project_id" uuid,
	"version_number" integer NOT NULL,
	"environment" text DEFAULT 'production' NOT NULL,
	"kind" text NOT NULL,
	"state" text DEFAULT 'created' NOT NULL,
	"source_sandbox_id" uuid,
	"template_id" text NOT NULL,
	"source_sha256" text,
	"source_bytes" bigint,
	"source_files" integer,
	"build_id" text NOT NULL,
	"builder_sandbox_id" uuid,
	"config" jsonb NOT NULL,
	"env_sealed" text,
	"env_digest" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"release_id" text,
	"artifact_sha256" text,
	"artifact_manifest" jsonb,
	"build_log" text DEFAULT '' NOT NULL,
	"error" text,
	"promote" boolean DEFAULT true NOT NULL,
	"build_owner" text,
	"build_heartbeat_at" timestamp with time zone,
	"build_started_at" timestamp with time zone,
	"build_finished_at" timestamp with time zone,
	"created_by" uuid,
	"created_via" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"external_workspace_id" text,
	"external_project_id" text,
	"external_user_id" text,
	"promoted_at" timestamp with time zone,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deployment" ADD CONSTRAINT "deployment_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment" ADD CONSTRAINT "deployment_workspace_id_workspace_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspace"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment" ADD CONSTRAINT "deployment_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment" ADD CONSTRAINT "deployment_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_env_var" ADD CONSTRAINT "deployment_env_var_deployment_id_deployment_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployment"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_instance" ADD CONSTRAINT "deployment_instance_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_instance" ADD CONSTRAINT "deployment_instance_deployment_id_deployment_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployment"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_instance" ADD CONSTRAINT "deployment_instance_version_id_deployment_version_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."deployment_version"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_release" ADD CONSTRAINT "deployment_release_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_release" ADD CONSTRAINT "deployment_release_deployment_id_deployment_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployment"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_release" ADD CONSTRAINT "deployment_release_version_id_deployment_version_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."deployment_version"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_route" ADD CONSTRAINT "deployment_route_deployment_id_deployment_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployment"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_route" ADD CONSTRAINT "deployment_route_version_id_deployment_version_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."deployment_version"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_route" ADD CONSTRAINT "deployment_route_promoted_by_user_id_fk" FOREIGN KEY ("promoted_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_version" ADD CONSTRAINT "deployment_version_deployment_id_deployment_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployment"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_version" ADD CONSTRAINT "deployment_version_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_version" ADD CONSTRAINT "deployment_version_workspace_id_workspace_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspace"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_version" ADD CONSTRAINT "deployment_version_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_version" ADD CONSTRAINT "deployment_version_source_sandbox_id_sandbox_id_fk" FOREIGN KEY ("source_sandbox_id") REFERENCES "public"."sandbox"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_version" ADD CONSTRAINT "deployment_version_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "deployment_org_slug_idx" ON "deployment" USING btree ("organization_id","slug") WHERE "deployment"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "deployment_org_idx" ON "deployment" USING btree ("organization_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "deployment_env_key_idx" ON "deployment_env_var" USING btree ("deployment_id","environment","key");--> statement-breakpoint
CREATE INDEX "deployment_instance_version_idx" ON "deployment_instance" USING btree ("version_id","state");--> statement-breakpoint
CREATE UNIQUE INDEX "deployment_release_version_idx" ON "deployment_release" USING btree ("version_id");--> statement-breakpoint
CREATE INDEX "deployment_release_sha_idx" ON "deployment_release" USING btree ("sha256");--> statement-breakpoint
CREATE UNIQUE INDEX "deployment_version_number_idx" ON "deployment_version" USING btree ("deployment_id","version_number");--> statement-breakpoint
CREATE INDEX "deployment_version_state_idx" ON "deployment_version" USING btree ("state");