// Command kstatus computes the kstatus of live objects with sigs.k8s.io/cli-utils (v0.37.2), the library
// Flux and kpt wait with, for test/integration/kstatus-stages.test.ts:
//
//	kubectl get esimprofileorder x -o json | kstatus
//
// stdin holds one object or a List (kubectl's `-o json` of several); stdout gets a JSON array with one
// {status, message} per object (status: InProgress, Current, Failed, Terminating), or {error}.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kjson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// Result is kstatus's answer for one object.
type Result struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

func main() {
	// Decoded as client-go decodes objects: integers as int64, which kstatus requires of generations.
	var in map[string]any
	data, err := io.ReadAll(os.Stdin)
	if err == nil {
		err = kjson.Unmarshal(data, &in)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: reading an object or a List from stdin:", err)
		os.Exit(1)
	}
	objects := []map[string]any{in}
	if items, ok := in["items"].([]any); ok {
		objects = objects[:0]
		for _, item := range items {
			if o, ok := item.(map[string]any); ok {
				objects = append(objects, o)
			}
		}
	}
	results := make([]Result, 0, len(objects))
	for _, o := range objects {
		u := &unstructured.Unstructured{Object: o}
		r := Result{Kind: u.GetKind(), Name: u.GetName()}
		if res, err := status.Compute(u); err != nil {
			r.Error = err.Error()
		} else {
			r.Status, r.Message = res.Status.String(), res.Message
		}
		results = append(results, r)
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
}
