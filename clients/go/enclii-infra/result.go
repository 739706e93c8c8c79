package encliiinfra

import (
	"encoding/json"
	"time"
)

// ContractVersion is the version of the result contract this client was written against
// (model/contract.ts CONTRACT_VERSION). A result whose contractVersion has another major is
// refused with a *ContractVersionError; a newer minor only adds fields, which decoding ignores.
const ContractVersion = "1.3.0"

// Status is a result's outcome in words; the exit status says the same in a number
// (docs/control-plane.md#exit-status).
type Status string

// The statuses a result can have (model/contract.ts STATUS_EXIT).
const (
	StatusOK                Status = "ok"
	StatusDeployed          Status = "deployed"
	StatusUnchanged         Status = "unchanged"
	StatusNoDrift           Status = "no-drift"
	StatusSkipped           Status = "skipped"
	StatusFailed            Status = "failed"
	StatusUsage             Status = "usage"
	StatusDrift             Status = "drift"
	StatusRefused           Status = "refused"
	StatusRolledBack        Status = "rolled-back"
	StatusRollbackFailed    Status = "rollback-failed"
	StatusNoCLI             Status = "no-cli"
	StatusBusy              Status = "busy"
	StatusNoStack           Status = "no-stack"
	StatusNothingToRollBack Status = "nothing-to-roll-back"
	StatusCancelled         Status = "cancelled"
	StatusInterrupted       Status = "interrupted"
	StatusOutsideWindow     Status = "outside-window"
	// StatusBudgetExhausted is a deploy the error-budget gate refused (exit 4, ErrRefused).
	StatusBudgetExhausted Status = "budget-exhausted"
	StatusCanaryAborted   Status = "canary-aborted"
	// StatusSLOMissed is a load test that measured an SLO missed, or stopped early (exit 1, ErrFailed).
	StatusSLOMissed Status = "slo-missed"
)

// Result is one enclii-infra --json result (OperationResult in model/contract.ts; its JSON Schema
// is schema/result.schema.json). Optional members are omitted when the operation has none.
type Result struct {
	ContractVersion string `json:"contractVersion"`
	// Operation is the command: preview, up, deploy, rollback, outputs, history, drift, domains add, ….
	Operation string `json:"operation"`
	// Environment is the platform stack's name.
	Environment string `json:"environment"`
	// Stack is the Pulumi stack operated on: a shard stack for domains.
	Stack    string `json:"stack"`
	Status   Status `json:"status"`
	ExitCode int    `json:"exitCode"`
	// Message is one line a person can act on (several for a refusal or drift, one per resource).
	Message string `json:"message"`
	// EngineMessage is what the engine said when it failed, secrets already masked.
	EngineMessage string `json:"engineMessage,omitempty"`
	// Changes counts the engine's steps by operation (create, update, same, …).
	Changes    map[string]int   `json:"changes,omitempty"`
	Violations []GuardViolation `json:"violations,omitempty"`
	// ChangedFiles are the stack files under the checkout the operation edited: commit them.
	ChangedFiles []string       `json:"changedFiles,omitempty"`
	Deploy       *DeployInfo    `json:"deploy,omitempty"`
	Domains      *DomainsResult `json:"domains,omitempty"`
	// Outputs are the stack's outputs, each as JSON; a secret one is the string "[secret]".
	Outputs map[string]json.RawMessage `json:"outputs,omitempty"`
	History []HistoryEntry             `json:"history,omitempty"`
	Drift   []DriftEntry               `json:"drift,omitempty"`
	// Plan is plan --json's report; this client runs no plan, but decodes one.
	Plan *PlanReport `json:"plan,omitempty"`
	// Schedule is, with StatusOutsideWindow, the service's deploySchedule and when a deploy may run next.
	Schedule *Schedule `json:"schedule,omitempty"`
	// Loadtest is loadtest --json's report (loadTestReportSchema in model/loadtest.ts); this client
	// runs no load test, but decodes one.
	Loadtest *LoadTestReport `json:"loadtest,omitempty"`
	// Rotations is, for rotate, one entry per secret: rotated, skipped, or stopped at a step; this
	// client runs no rotation, but decodes one.
	Rotations []RotationReport `json:"rotations,omitempty"`

	// raw is the object as the CLI printed it, for the tests that validate it against the schema.
	raw []byte
}

// RotationReport is what became of one secret in a rotate run (docs/runbooks/rotations.md).
type RotationReport struct {
	Secret   string `json:"secret"`
	Status   Status `json:"status"`
	ExitCode int    `json:"exitCode"`
	Message  string `json:"message"`
	// Generation and Phase are what the stack config holds for the secret after the run.
	Generation int    `json:"generation"`
	Phase      string `json:"phase"`
	// Due is, for rotate --due, whether it was due.
	Due        bool        `json:"due,omitempty"`
	FailedStep *FailedStep `json:"failedStep,omitempty"`
	// Resume is the command that resumes a rotation that stopped.
	Resume        string `json:"resume,omitempty"`
	EngineMessage string `json:"engineMessage,omitempty"`
}

// FailedStep is the step of a rotation that did not finish.
type FailedStep struct {
	Step int    `json:"step"`
	Of   int    `json:"of"`
	Does string `json:"does"`
}

// Schedule is a service's deploy window ("22:00 UTC" style; it may wrap midnight).
type Schedule struct {
	OnlyAfter         string    `json:"onlyAfter"`
	OnlyBefore        string    `json:"onlyBefore"`
	NextWindowOpensAt time.Time `json:"nextWindowOpensAt"`
}

// GuardViolation is a resource the guard stopped, and why.
type GuardViolation struct {
	URN  string `json:"urn"`
	Type string `json:"type"`
	// Op is the engine's step: replace, create-replacement, delete-replaced, delete, import-replacement.
	Op string `json:"op"`
	// Because names the properties that force the replacement, or why it is deleted.
	Because []string `json:"because"`
	// Holds says what the resource holds: what a replace or delete loses.
	Holds string `json:"holds"`
}

// DeployInfo is what a deploy or rollback did to one service.
type DeployInfo struct {
	Service string `json:"service"`
	Image   string `json:"image"`
	// PreviousImage is the override before this deploy, when there was one.
	PreviousImage string `json:"previousImage,omitempty"`
	// Targets are the update's --target URNs: the service's changed resources.
	Targets []string `json:"targets"`
	// NotApplied are changes the preview showed outside the service, left for a full up.
	NotApplied []string `json:"notApplied"`
	// Canary is, for deploy --canary, how the canary was judged.
	Canary *CanaryReport `json:"canary,omitempty"`
	// Gate is the error-budget gate the deploy passed, or was refused by.
	Gate *GateReport `json:"gate,omitempty"`
	// Forced names what --force overrode: the deploy window, the deploy filter, the error budget.
	Forced []string `json:"forced,omitempty"`
}

// CanaryReport is how a canary was judged (docs/control-plane.md#canary-deploys).
type CanaryReport struct {
	// Decision is promote, abort, or fallback (deployed plainly: it could not be judged).
	Decision string `json:"decision"`
	// Cause is why it did not promote on its figures: errors, latency, no-traffic, no-metrics,
	// unreachable, interrupted, failed.
	Cause          string        `json:"cause,omitempty"`
	Reason         string        `json:"reason"`
	Replicas       int           `json:"replicas"`
	Share          float64       `json:"share"`
	WatchedSeconds float64       `json:"watchedSeconds"`
	PeriodSeconds  float64       `json:"periodSeconds"`
	Canary         *TrackFigures `json:"canary,omitempty"`
	Stable         *TrackFigures `json:"stable,omitempty"`
}

// TrackFigures are one track's requests, error ratio and p95 latency over the watch.
type TrackFigures struct {
	Requests   float64  `json:"requests"`
	ErrorRatio *float64 `json:"errorRatio,omitempty"`
	P95Ms      *float64 `json:"p95Ms,omitempty"`
}

// GateReport is the error-budget gate's verdict (docs/control-plane.md#the-error-budget-gate).
type GateReport struct {
	Checked                bool     `json:"checked"`
	Allowed                bool     `json:"allowed"`
	Reason                 string   `json:"reason"`
	FastBurnFiring         *bool    `json:"fastBurnFiring,omitempty"`
	BudgetRemainingPercent *float64 `json:"budgetRemainingPercent,omitempty"`
}

// DomainsResult is what a domains command found or did.
type DomainsResult struct {
	Tenant string `json:"tenant,omitempty"`
	// Shard is the shard stack holding the tenant.
	Shard     string         `json:"shard,omitempty"`
	Hostnames []DomainStatus `json:"hostnames"`
	// Tenants is domains list's answer: every tenant of the environment and its shard.
	Tenants []TenantEntry `json:"tenants,omitempty"`
}

// DomainStatus is one custom hostname and the records its customer must create.
type DomainStatus struct {
	Hostname string `json:"hostname"`
	Tenant   string `json:"tenant"`
	// Status is Cloudflare's custom hostname status (pending, active, …).
	Status string `json:"status"`
	// SSLStatus is Cloudflare's certificate status (pending_validation, active, …).
	SSLStatus string           `json:"sslStatus"`
	Records   []CustomerRecord `json:"records"`
}

// CustomerRecord is a DNS record the customer creates.
type CustomerRecord struct {
	// Type is CNAME or TXT.
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
	// Purpose is traffic, ownership or certificate.
	Purpose string `json:"purpose"`
}

// TenantEntry is one tenant as domains list shows it.
type TenantEntry struct {
	Name      string   `json:"name"`
	Shard     string   `json:"shard"`
	Hostnames []string `json:"hostnames"`
	// Service is name:port of the tenant's Service.
	Service string `json:"service"`
}

// HistoryEntry is one operation in a stack's history.
type HistoryEntry struct {
	// Kind is update, preview, refresh, destroy, ….
	Kind string `json:"kind"`
	// Result is succeeded, failed or in-progress.
	Result    string    `json:"result"`
	StartTime time.Time `json:"startTime"`
	Message   string    `json:"message"`
	// Image is, per service, the image override the update ran with.
	Image map[string]string `json:"image,omitempty"`
}

// DriftEntry is a resource that differs from the state.
type DriftEntry struct {
	URN string `json:"urn"`
	// Op is the refresh's outcome: update or delete.
	Op string `json:"op"`
	// Properties are the property paths that differ (spec.replicas, …).
	Properties []string `json:"properties"`
}

// LoadTestReport is what a load test measured, against the SLOs (docs/control-plane.md#load-test).
type LoadTestReport struct {
	Environment     string  `json:"environment"`
	Path            string  `json:"path"`
	RequestedRps    int     `json:"requestedRps"`
	DurationSeconds int     `json:"durationSeconds"`
	ElapsedSeconds  float64 `json:"elapsedSeconds"`
	Connections     int     `json:"connections"`
	MaxErrorRatio   float64 `json:"maxErrorRatio"`
	// Total is every target together.
	Total   LoadFigures  `json:"total"`
	Targets []LoadTarget `json:"targets"`
	// SLOMet is every target meeting both objectives, and the run not stopped early.
	SLOMet       bool      `json:"sloMet"`
	StoppedEarly bool      `json:"stoppedEarly"`
	StopReason   string    `json:"stopReason,omitempty"`
	BurnRates    BurnRates `json:"burnRates"`
}

// LoadFigures are requests, errors, the achieved rate and latency percentiles (ms).
type LoadFigures struct {
	Requests         int      `json:"requests"`
	Errors           int      `json:"errors"`
	ConnectionErrors int      `json:"connectionErrors"`
	ErrorRatio       *float64 `json:"errorRatio,omitempty"`
	AchievedRps      float64  `json:"achievedRps"`
	LatencyMs        *struct {
		P50 float64 `json:"p50"`
		P95 float64 `json:"p95"`
		P99 float64 `json:"p99"`
	} `json:"latencyMs,omitempty"`
}

// LoadTarget is one hostname's figures and its service's SLO verdicts.
type LoadTarget struct {
	LoadFigures
	URL      string `json:"url"`
	Hostname string `json:"hostname"`
	Service  string `json:"service"`
	SLO      struct {
		Latency struct {
			ObjectiveP95Ms float64 `json:"objectiveP95Ms"`
			Met            bool    `json:"met"`
		} `json:"latency"`
		Errors struct {
			ObjectiveRatio float64 `json:"objectiveRatio"`
			Met            bool    `json:"met"`
		} `json:"errors"`
	} `json:"slo"`
}

// BurnRates are the highest burn rates Prometheus recorded during the run, per service and SLI.
type BurnRates struct {
	Window string  `json:"window"`
	PageAt float64 `json:"pageAt"`
	Rates  []struct {
		Service string  `json:"service"`
		SLI     string  `json:"sli"`
		Max     float64 `json:"max"`
	} `json:"rates"`
	Unavailable string `json:"unavailable,omitempty"`
}
