/**
 * The workload baseline (docs/security.md) as a Pulumi policy pack, enforced on every preview and update:
 *
 *     pulumi preview --stack production --policy-pack policy
 *
 * policy/package.json only carries the version PolicyPack reads from its working directory (policy/,
 * where Pulumi starts the pack); Node resolves `@pulumi/pulumi/cmd/run-policy-pack` and
 * `@pulumi/policy` from the repository's node_modules (run `npm ci` at the root first), and with
 * no `main` loads this directory's index.ts through Pulumi's TypeScript support (ts-node).
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("enclii-baseline", { policies });
