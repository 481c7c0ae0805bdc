CREATE TABLE "computer" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"sandbox_id" uuid,
	"created_by" uuid,
	"name" text NOT NULL,
	"slug" text NOT NULL,
	"status" text DEFAULT 'provisioning' NOT NULL,
	"template_type" text NOT NULL,
	"template_id" text NOT NULL,
	"size" text NOT NULL,
	"cpu_count" integer NOT NULL,
	"memory_mb" integer NOT NULL,
	"region" text NOT NULL,
	"visibility" text DEFAULT 'tenant' NOT NULL,
	"screen_width" integer DEFAULT 1280 NOT NULL,
	"screen_height" integer DEFAULT 800 NOT NULL,
	"selected_apps" text[] DEFAULT '{}'::text[] NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"control_holder" text DEFAULT 'agent' NOT NULL,
	"control_by" text,
	"control_since" timestamp with time zone,
	"external_workspace_id" text,
	"external_project_id" text,
	"external_user_id" text,
	"last_error" text,
	"started_at" timestamp with time zone,
	"stopped_at" timestamp with time zone,
	"destroyed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "computer" ADD CONSTRAINT "computer_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "computer" ADD CONSTRAINT "computer_workspace_id_workspace_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspace"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "computer" ADD CONSTRAINT "computer_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "computer" ADD CONSTRAINT "computer_sandbox_id_sandbox_id_fk" FOREIGN KEY ("sandbox_id") REFERENCES "public"."sandbox"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "computer" ADD CONSTRAINT "computer_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "computer_org_created_idx" ON "computer" USING btree ("organization_id","created_at");--> statement-breakpoint
CREATE INDEX "computer_sandbox_idx" ON "computer" USING btree ("sandbox_id");