// Written by `npm run tools:parameters` (tools/write-parameters.ts) from the tools' zod schemas: do not edit.
import type { ToolParameters } from "./tool.ts";

export const TOOL_PARAMETERS: ToolParameters = {
  "update_plan": {
    "type": "object",
    "properties": {
      "explanation": {
        "anyOf": [
          {
            "type": "string"
          },
          {
            "type": "null"
          }
        ]
      },
      "plan": {
        "minItems": 1,
        "maxItems": 20,
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "step": {
              "type": "string"
            },
            "status": {
              "type": "string",
              "enum": [
                "pending",
                "in_progress",
                "completed"
              ]
            }
          },
          "required": [
            "step",
            "status"
          ],
          "additionalProperties": false
        }
      }
    },
    "required": [
      "explanation",
      "plan"
    ],
    "additionalProperties": false
  },
  "get_current_time": {
    "type": "object",
    "properties": {
      "timezone": {
        "description": "IANA time zone; null for the user's own",
        "anyOf": [
          {
            "type": "string"
          },
          {
            "type": "null"
          }
        ]
      }
    },
    "required": [
      "timezone"
    ],
    "additionalProperties": false
  }
};
