import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

describe("the handlers' AWS clients", () => {
  it("keep their configuration a fast-properties object through real calls, where the SDK's own is a dictionary", async () => {
    // V8's own check (--allow-natives-syntax), in a process of its own: a property added to a
    // configuration after withFastConfig would make it a dictionary again, and every call would
    // copy it slowly (aws-client-options.ts).
    const { stdout } = await promisify(execFile)(process.execPath, ["--allow-natives-syntax", "test/support/client-config-shape.ts"]);
    expect(JSON.parse(stdout)).toEqual({ documents: true, management: true, sqs: true, events: true, plain: false });
  });
});
