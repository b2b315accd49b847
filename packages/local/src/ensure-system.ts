/**
 * Makes sure the machine has what `npm start` / `npm test` run: redis-server (unless
 * REDIS_URL is given) and, for tests, Chromium with Japanese and emoji fonts. As root on
 * Debian it installs what is missing from Debian's packages; otherwise it says how.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";

interface Requirement {
  what: string;
  present: () => boolean;
  packages: string[];
}

const { values } = parseArgs({ options: { for: { type: "string", default: "start" } } });
const purpose = values.for === "test" ? "test" : "start";

const onPath = (command: string) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
const fontInstalled = (family: string) => spawnSync("sh", ["-c", `fc-list | grep -qi "${family}"`], { stdio: "ignore" }).status === 0;

const requirements: Requirement[] = [];
if (purpose === "test" || !process.env.REDIS_URL) {
  requirements.push({ what: "redis-server", present: () => onPath("redis-server"), packages: ["redis-server"] });
}
// Browser tests (test/e2e) drive Debian's Chromium; the fonts make Japanese and emoji render as glyphs.
if (purpose === "test" && existsSync("test/e2e")) {
  requirements.push(
    { what: "Chromium", present: () => existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"), packages: ["chromium"] },
    {
      what: "Japanese and emoji fonts",
      present: () => onPath("fc-list") && fontInstalled("Noto Sans CJK") && fontInstalled("Noto Color Emoji"),
      packages: ["fonts-noto-cjk", "fonts-noto-color-emoji", "fontconfig"],
    },
  );
}

const missing = requirements.filter((requirement) => !requirement.present());
if (missing.length > 0) {
  const packages = missing.flatMap((requirement) => requirement.packages);
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !onPath("apt-get")) {
    console.error(
      `azuchi needs ${missing.map((m) => m.what).join(", ")}.\n` +
        `Install ${packages.length > 1 ? "them" : "it"} and run again, e.g. on Debian/Ubuntu:\n` +
        `  sudo apt-get update && sudo apt-get install -y ${packages.join(" ")}` +
        (purpose === "start" && !process.env.REDIS_URL ? `\nor point azuchi at a Redis you run: REDIS_URL=redis://host:6379 npm start` : ""),
    );
    process.exit(1);
  }
  console.log(`azuchi: installing ${packages.join(", ")} from Debian's packages…`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { stdio: "inherit", env });
  const still = missing.filter((requirement) => !requirement.present());
  if (still.length > 0) {
    console.error(`azuchi: ${still.map((m) => m.what).join(", ")} still missing after apt-get install`);
    process.exit(1);
  }
}
