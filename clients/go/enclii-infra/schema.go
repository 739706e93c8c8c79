package encliiinfra

import (
	"bytes"
	_ "embed"
)

// The JSON Schemas of the contract, generated from model/contract.ts (npm run contract).
var (
	//go:embed schema/result.schema.json
	resultSchema []byte
	//go:embed schema/config.schema.json
	configSchema []byte
)

// ResultSchema is the JSON Schema (draft 2020-12) of the results this client reads: every
// enclii-infra --json result.
func ResultSchema() []byte { return bytes.Clone(resultSchema) }

// ConfigSchema is the JSON Schema of the stack config the control plane writes through
// enclii-infra (the image overrides, the shards' tenants), for a caller that checks its inputs first.
func ConfigSchema() []byte { return bytes.Clone(configSchema) }
