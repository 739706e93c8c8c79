import { program } from "./program";

// Pulumi's Node.js host calls an exported function and uses what it returns as stack outputs.
export = () => program();
