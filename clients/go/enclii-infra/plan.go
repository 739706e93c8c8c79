package encliiinfra

// PlanReport is plan --json's report: the bill, the capacity check, the tenant shards and, with
// --against, the diffs.
type PlanReport struct {
	Cost     CostReport     `json:"cost"`
	Capacity CapacityReport `json:"capacity"`
	// Problems say why the plan does not fit its machines or budget (exit 2).
	Problems []string `json:"problems"`
	// Diff is the changes against the other plan, with --against.
	Diff *PlanDiff `json:"diff,omitempty"`
	// Shards are the environment's tenant shards, planned or, against another plan with the same
	// digest, left unplanned; with --against each planned or removed one's diff.
	Shards []ShardOutcome `json:"shards"`
}

// ShardOutcome is one tenant shard in a plan.
type ShardOutcome struct {
	Stack string `json:"stack"`
	// Tenants is nil for a removed shard.
	Tenants *int `json:"tenants,omitempty"`
	// Status is planned, unchanged (same digest as the other plan: not planned) or removed.
	Status string    `json:"status"`
	Diff   *PlanDiff `json:"diff,omitempty"`
}

// CostReport is the plan's monthly bill.
type CostReport struct {
	Lines      []CostLine `json:"lines"`
	MonthlyUSD float64    `json:"monthlyUsd"`
	BudgetUSD  *float64   `json:"budgetUsd,omitempty"`
	OverBudget bool       `json:"overBudget"`
	Capacity   struct {
		VCPU     float64 `json:"vcpu"`
		MemoryGi float64 `json:"memoryGi"`
		DiskGi   float64 `json:"diskGi"`
	} `json:"capacity"`
}

// CostLine is one item of the bill.
type CostLine struct {
	Item       string  `json:"item"`
	Count      float64 `json:"count"`
	MonthlyUSD float64 `json:"monthlyUsd"`
	// Source says where the price comes from.
	Source string `json:"source"`
	// Unpriced is true when no price is known for the item: set it in config (Source says where).
	Unpriced bool `json:"unpriced,omitempty"`
}

// Resources are CPU and memory, requested or allocatable.
type Resources struct {
	CPUMilli float64 `json:"cpuMilli"`
	MemoryMi float64 `json:"memoryMi"`
}

// CapacityReport is whether the plan's pods fit its machines.
type CapacityReport struct {
	Nodes []NodeCapacity `json:"nodes"`
	// Surge is the largest pod a rolling update adds, and whether some node has room for it.
	Surge *Surge `json:"surge,omitempty"`
	Disk  struct {
		NeededGi float64 `json:"neededGi"`
		UsableGi float64 `json:"usableGi"`
		Replicas float64 `json:"replicas"`
	} `json:"disk"`
	Problems []string `json:"problems"`
}

// NodeCapacity is one node's room and what the plan asks of it.
type NodeCapacity struct {
	Node        string    `json:"node"`
	Machine     string    `json:"machine"`
	Allocatable Resources `json:"allocatable"`
	Requested   Resources `json:"requested"`
	Pods        float64   `json:"pods"`
}

// Surge is the pod a rolling update adds.
type Surge struct {
	Workload string    `json:"workload"`
	Requests Resources `json:"requests"`
	FitsOn   string    `json:"fitsOn,omitempty"`
}

// PlanDiff is a plan compared with another.
type PlanDiff struct {
	Stack   string           `json:"stack"`
	Changes []ResourceChange `json:"changes"`
	CostUSD struct {
		Before *float64 `json:"before,omitempty"`
		After  *float64 `json:"after,omitempty"`
	} `json:"costUsd"`
	// Verdict is no-change, changes or replaces-stateful.
	Verdict string `json:"verdict"`
}

// ResourceChange is one resource added, removed or changed between two plans.
type ResourceChange struct {
	// Kind is added, removed or changed.
	Kind string `json:"kind"`
	URN  string `json:"urn"`
	Type string `json:"type"`
	Name string `json:"name"`
	// Paths are the changed input paths (changed resources only).
	Paths        []string      `json:"paths"`
	Replacements []Replacement `json:"replacements"`
	// Stateful is true when the resource holds data or identity (the guard's table).
	Stateful bool `json:"stateful"`
	// LosesData is true for a replacement or removal of something stateful.
	LosesData bool `json:"losesData"`
}

// Replacement is why a change replaces or disrupts a resource.
type Replacement struct {
	// Effect is replace or disrupt.
	Effect string   `json:"effect"`
	Paths  []string `json:"paths"`
	Source string   `json:"source"`
	Note   string   `json:"note,omitempty"`
}
