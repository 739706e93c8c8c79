import { tenantsProgram } from "../stacks/tenants";

// The `enclii-tenants` project's entry: Pulumi loads this directory as a Node module.
export = () => tenantsProgram();
