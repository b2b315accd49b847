import * as z from "zod/mini";
import { defineTool } from "./tool.ts";

export const PlanStep = z.object({
  step: z.string().check(z.minLength(1), z.maxLength(500)),
  status: z.enum(["pending", "in_progress", "completed"]),
});
export const PlanPayload = z.object({
  explanation: z.nullish(z.string().check(z.maxLength(2000))),
  plan: z.array(PlanStep).check(z.minLength(1), z.maxLength(20)),
});
export type PlanPayload = z.infer<typeof PlanPayload>;

const MARK = { pending: "[ ]", in_progress: "[~]", completed: "[x]" } as const;

/** The model states or updates its plan; each call becomes a PLAN message the client renders as a checklist. */
export const updatePlan = defineTool({
  name: "update_plan",
  description:
    "State or update your plan for the user's request as a short list of steps, each pending, in_progress or completed. Call it before working on a multi-step request and again when a step's status changes.",
  parameters: PlanPayload,
  shows: "plan",
  async run(args) {
    const lines = args.plan.map((item, i) => `${i + 1}. ${MARK[item.status]} ${item.step}`);
    const summary = [args.explanation, ...lines].filter(Boolean).join("\n");
    return { output: "Plan updated.", summary, payload: args };
  },
});
