import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { admissionPolicies } from "./admissionPolicies";

export interface AdmissionArgs {
  provider: k8s.Provider;
}

/**
 * The workload baseline enforced by the API server itself (docs/nodes-and-k3s.md#in-cluster-admission):
 * the policy pack refuses a bad object at `pulumi preview`, these refuse it whoever writes it.
 * Each ValidatingAdmissionPolicy with its two denying bindings (platform namespaces, tenant
 * namespaces); a binding waits for its policy, since one naming a missing policy is ignored.
 */
export class Admission extends pulumi.ComponentResource {
  /** The policies' names. */
  public readonly policies: string[];

  constructor(name: string, args: AdmissionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:k3s:Admission", name, {}, opts);
    const kube = { parent: this, provider: args.provider };
    this.policies = [];
    for (const { role, name: policyName, policy, bindings } of admissionPolicies()) {
      const created = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(`${name}-${role}`, policy, kube);
      for (const b of bindings)
        new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(`${name}-${b.role}`, b.binding, {
          ...kube,
          dependsOn: [created],
        });
      this.policies.push(policyName);
    }
    this.registerOutputs({ policies: this.policies });
  }
}
