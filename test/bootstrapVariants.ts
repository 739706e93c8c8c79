/**
 * The k3s bootstrap's variants, as each node of the three layouts gets it: rendered and checked
 * in test/k3s.test.ts, and run past a minimal Debian root in test/bootstrap-root.real.test.ts.
 */
import type { BootstrapOptions } from "../components/k3s/bootstrap";

export const server: BootstrapOptions = {
  nodeName: "ax41-1",
  role: "server",
  k3sVersion: "v1.33.4+k3s1",
  nodeIp: "203.0.113.10",
  clusterInit: true,
  tlsSans: ["203.0.113.10"],
  privateNetwork: false,
  encryptPodTraffic: false,
};
export const variants: Record<string, BootstrapOptions> = {
  dedicated: { ...server, hostFirewall: { adminCidrs: ["198.51.100.7/32", "192.0.2.0/24"], peerIps: [] } },
  "dedicated peer": {
    ...server,
    clusterInit: false,
    serverUrl: "https://203.0.113.11:6443",
    encryptPodTraffic: true,
    hostFirewall: { adminCidrs: ["198.51.100.7/32"], peerIps: ["203.0.113.11"] },
  },
  "cloud gateway": { ...server, nodeIp: "10.0.1.10", privateNetwork: true, natFor: "10.0.0.0/16" },
  "cloud private server": {
    ...server,
    nodeIp: "10.0.1.11",
    clusterInit: false,
    serverUrl: "https://10.0.1.10:6443",
    privateNetwork: true,
    egressGateway: "10.0.0.1",
  },
  "cloud private agent": {
    ...server,
    role: "agent",
    nodeIp: "10.0.1.12",
    clusterInit: false,
    serverUrl: "https://10.0.1.10:6443",
    privateNetwork: true,
    egressGateway: "10.0.0.1",
  },
};
