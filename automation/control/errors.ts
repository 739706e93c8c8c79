/**
 * The errors that end an operation before or outside the engine, each answered as a result of its
 * own kind (operations.ts `failure`). They load nothing, so the planner can refuse with them
 * without loading the Automation API.
 */
import { PULUMI_INSTALL_HINT } from "../../model/controlPlane";

/** Bad arguments or a file that does not pass its checks: nothing was started. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** No usable Pulumi CLI: the operation never started. */
export class NoCliError extends Error {
  constructor(reason: string) {
    super(`${reason}; ${PULUMI_INSTALL_HINT}`);
    this.name = "NoCliError";
  }
}

/** The stack does not exist in the backend the CLI is logged in to. */
export class StackMissingError extends Error {
  constructor(stack: string, project: "platform" | "tenants") {
    super(
      `${stack}: no such stack in the backend pulumi is logged in to; pulumi login to the right backend, or pulumi stack init ${stack}${project === "tenants" ? " in tenants/" : ""}`,
    );
    this.name = "StackMissingError";
  }
}
