// Command argocd-health evaluates Argo CD health checks with Argo CD's own code (v3.2.12), for
// test/unit/argocd-health.test.ts and test/integration/kstatus-stages.test.ts:
//
//	argocd-health --argocd-cm deploy/argocd/argocd-cm.yaml [--use-open-libs] < objects.json
//
// The ConfigMap is read by Argo CD's settings manager, as `argocd admin settings resource-overrides health`
// reads a local argocd-cm.yaml; --use-open-libs adds resource.customizations.useOpenLibs.<group_kind>: "true"
// for every health script in it, as a user would. stdin holds a JSON array of objects; stdout gets a JSON
// array with one result per object.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/argoproj/gitops-engine/pkg/health"
	log "github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kjson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
)

// Health is one answer: a status and message, or the error Argo CD returned.
type Health struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

// Result is what Argo CD makes of one object.
type Result struct {
	// Controller is what the application controller shows: gitops-engine's health.GetResourceHealth with
	// the argocd-cm overrides (controller/health.go), deletion handling included.
	Controller Health `json:"controller"`
	// Script is the script's own answer from VM.ExecuteHealthLua, what Argo CD's health_test.yaml harness
	// (util/lua/health_test.go) compares; it ignores deletionTimestamp.
	Script Health `json:"script"`
	// DeletionMessage is the script's hs.deletionMessage, which Argo CD 3.6+ shows for an object being
	// deleted. v3.2's HealthStatus has no such field, so it is read by running the same script in the same
	// VM with its result's deletionMessage moved into message.
	DeletionMessage string `json:"deletionMessage"`
	// UseOpenLibs is whether Argo CD's settings enabled the full standard library for this script.
	UseOpenLibs bool `json:"useOpenLibs"`
}

const namespace = "argocd"

func main() {
	cmPath := flag.String("argocd-cm", "", "argocd-cm ConfigMap YAML holding resource.customizations.health.* keys")
	openLibs := flag.Bool("use-open-libs", false, "enable useOpenLibs for every health script in the ConfigMap")
	flag.Parse()
	if *cmPath == "" {
		fmt.Fprintln(os.Stderr, "usage: argocd-health --argocd-cm FILE [--use-open-libs] < objects.json")
		os.Exit(2)
	}
	log.SetLevel(log.FatalLevel)
	if err := run(*cmPath, *openLibs); err != nil {
		fmt.Fprintln(os.Stderr, "argocd-health:", err)
		os.Exit(1)
	}
}

func run(cmPath string, openLibs bool) error {
	overrides, err := loadOverrides(cmPath, openLibs)
	if err != nil {
		return err
	}
	// Decoded as client-go decodes objects (integers as int64), the form the controller's cache holds.
	var objects []any
	data, err := io.ReadAll(os.Stdin)
	if err == nil {
		err = kjson.Unmarshal(data, &objects)
	}
	if err != nil {
		return fmt.Errorf("reading objects from stdin: %w", err)
	}
	results := make([]Result, 0, len(objects))
	for i, o := range objects {
		obj, ok := o.(map[string]any)
		if !ok {
			return fmt.Errorf("object %d is not a JSON object", i)
		}
		results = append(results, evaluate(&unstructured.Unstructured{Object: obj}, overrides))
	}
	return json.NewEncoder(os.Stdout).Encode(results)
}

// loadOverrides reads the ConfigMap through Argo CD's SettingsManager over a fake clientset.
func loadOverrides(cmPath string, openLibs bool) (map[string]v1alpha1.ResourceOverride, error) {
	data, err := os.ReadFile(cmPath)
	if err != nil {
		return nil, err
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(data, &cm); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", cmPath, err)
	}
	cm.Namespace = namespace
	if openLibs {
		for key := range cm.Data {
			if groupKind, ok := strings.CutPrefix(key, "resource.customizations.health."); ok {
				cm.Data["resource.customizations.useOpenLibs."+groupKind] = "true"
			}
		}
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "argocd-secret", Namespace: namespace,
			Labels: map[string]string{"app.kubernetes.io/part-of": "argocd"},
		},
		Data: map[string][]byte{"admin.password": []byte("test"), "server.secretkey": []byte("test")},
	}
	mgr := settings.NewSettingsManager(context.Background(), fake.NewClientset(&cm, secret), namespace)
	if err := mgr.ResyncInformers(); err != nil {
		return nil, err
	}
	return mgr.GetResourceOverrides()
}

func evaluate(obj *unstructured.Unstructured, overrides map[string]v1alpha1.ResourceOverride) Result {
	var r Result
	hs, err := health.GetResourceHealth(obj, lua.ResourceHealthOverrides(overrides))
	r.Controller = toHealth(hs, err)

	vm := lua.VM{ResourceOverrides: overrides}
	script, useOpenLibs, err := vm.GetHealthScript(obj)
	if err != nil || script == "" {
		r.Script = toHealth(nil, fmt.Errorf("no health script for %s (%v)", obj.GroupVersionKind(), err))
		return r
	}
	vm.UseOpenLibs = useOpenLibs
	r.UseOpenLibs = useOpenLibs
	hs, err = vm.ExecuteHealthLua(obj, script)
	r.Script = toHealth(hs, err)

	// The script becomes a function body: its locals and its return work as at top level.
	probe := "local hs = (function()\n" + script + "\nend)()\n" +
		"if type(hs) == \"table\" then return { status = hs.status, message = hs.deletionMessage } end\n" +
		"return hs\n"
	if hs, err := vm.ExecuteHealthLua(obj, probe); err == nil && hs != nil {
		r.DeletionMessage = hs.Message
	}
	return r
}

func toHealth(hs *health.HealthStatus, err error) Health {
	h := Health{}
	if hs != nil {
		h.Status, h.Message = string(hs.Status), hs.Message
	}
	if err != nil {
		h.Error = err.Error()
	}
	return h
}
