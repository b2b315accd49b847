/**
 * zod's English messages ("Invalid UUID", "Too big: expected string to have <=64 characters").
 * Classic zod sets them itself; `zod/mini`, which the schemas a Lambda loads use (classic
 * would bring every method of every schema and to-JSON-schema with it, ≈ 70 KB), sets none,
 * and every message would be "Invalid input". The contracts import this file, and chat's and
 * the agent's own schemas come with them. `package.json` lists it in `sideEffects`: bundlers
 * drop an import that takes nothing from a package without side effects.
 */
import { en } from "zod/locales";
import * as z from "zod/mini";

z.config(en());
