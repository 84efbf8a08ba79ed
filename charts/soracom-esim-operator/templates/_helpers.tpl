{{/* Name of the chart, overridable. */}}
{{- define "soracom-esim-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, with the chart name unless the release name already contains it. */}}
{{- define "soracom-esim-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "soracom-esim-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object the chart renders. They describe the chart's own objects only: the controller never
copies them (or any Argo CD tracking key) to the EsimProfiles and Secrets it creates.
*/}}
{{- define "soracom-esim-operator.labels" -}}
helm.sh/chart: {{ include "soracom-esim-operator.chart" . }}
{{ include "soracom-esim-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: soracom-esim-operator
{{- end }}

{{- define "soracom-esim-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "soracom-esim-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "soracom-esim-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "soracom-esim-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "soracom-esim-operator.leaderElectionId" -}}
{{- default (include "soracom-esim-operator.fullname" .) .Values.leaderElection.id }}
{{- end }}

{{/*
The Lease the controller elects on, as controller/config.ts's leaseName computes it from the flags the
Deployment passes (--leader-election-id, --shard-name): each shard elects its own leader.
*/}}
{{- define "soracom-esim-operator.leaseName" -}}
{{- $id := include "soracom-esim-operator.leaderElectionId" . }}
{{- if .Values.shard.name }}
{{- printf "%s-%s" $id .Values.shard.name }}
{{- else }}
{{- $id }}
{{- end }}
{{- end }}

{{- define "soracom-esim-operator.image" -}}
{{- if or (not .Values.image.repository) (eq .Values.image.repository "ghcr.io/soracom-esim-operator/soracom-esim-operator") }}
{{- fail (printf "image.repository is %q, a placeholder: no image is published there. Build and push the image (IMAGE=registry.example.com/soracom-esim-operator:0.1.0 make image-push, or make image-kind for kind; docs/install.md#the-container-image), then set it: --set image.repository=registry.example.com/soracom-esim-operator --set image.tag=0.1.0 (or image.digest)" .Values.image.repository) }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Seconds in a Go-style duration made of whole units (90s, 2h, 1h30m): the alert thresholds need the
number the controller's flags take as a duration. values.schema.json only lets such durations through.
*/}}
{{- define "soracom-esim-operator.seconds" -}}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+(ms|s|m|h)" . -1 }}
{{- $digits := regexFind "^[0-9]+" . }}
{{- $n := atoi $digits }}
{{- $unit := trimPrefix $digits . }}
{{- if eq $unit "h" }}{{ $total = add $total (mul $n 3600) }}
{{- else if eq $unit "m" }}{{ $total = add $total (mul $n 60) }}
{{- else if eq $unit "s" }}{{ $total = add $total $n }}
{{- end }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
The controller's rules: the Kubernetes API use listed in the controller's contract, nothing more. Shared
by the ClusterRole (all namespaces) and the per-namespace Roles (watchNamespaces).
*/}}
{{- define "soracom-esim-operator.rules" -}}
- apiGroups: ["esim.soracom-operator.io"]
  resources: ["esimprofileorders"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["esim.soracom-operator.io"]
  resources: ["esimprofileorders/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["esim.soracom-operator.io"]
  resources: ["esimprofileorders/finalizers"]
  verbs: ["update"]
- apiGroups: ["esim.soracom-operator.io"]
  resources: ["esimprofiles"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["esim.soracom-operator.io"]
  resources: ["esimprofiles/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["esim.soracom-operator.io"]
  resources: ["esimprofiles/finalizers"]
  verbs: ["update"]
# Activation Secrets: created once per profile (a repeat answers 409); never read back, unless watched so
# that a deleted one is rebuilt (controller.watchActivationSecrets). Tenant credentials Secrets are read
# (get only) when an account allows them (accounts.tenantCredentials).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: {{ include "soracom-esim-operator.secretVerbs" . }}
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* The verbs on Secrets in watched namespaces: create, and only what the values turn on. */}}
{{- define "soracom-esim-operator.secretVerbs" -}}
{{- $verbs := list "create" -}}
{{- if or .Values.controller.watchActivationSecrets .Values.accounts.tenantCredentials }}{{ $verbs = append $verbs "get" }}{{ end -}}
{{- if .Values.controller.watchActivationSecrets }}{{ $verbs = append $verbs "list" }}{{ $verbs = append $verbs "watch" }}{{ end -}}
{{ toJson $verbs }}
{{- end }}

{{/* The account of orders and profiles that name none: accounts.default, else the account the chart creates. */}}
{{- define "soracom-esim-operator.defaultAccount" -}}
{{- if .Values.accounts.default }}{{ .Values.accounts.default }}{{ else if .Values.accounts.create.enabled }}{{ .Values.accounts.create.name }}{{ end -}}
{{- end }}

{{/*
The Kubernetes version check (CEL validation rules with fieldPath in the CRDs need 1.29), here rather than
in Chart.yaml's kubeVersion so that a failure says what to do: `helm template` renders for a default
version (v1.20.0 in a helm built from source) unless given --kube-version.
*/}}
{{- define "soracom-esim-operator.checkKubeVersion" -}}
{{- if not (semverCompare ">=1.29.0-0" .Capabilities.KubeVersion.Version) }}
{{- fail (printf "soracom-esim-operator needs Kubernetes 1.29 or later (its CRDs use CEL validation rules), and helm says the cluster is %s. Against a cluster, upgrade it; with helm template (which assumes a version unless told), give the cluster's: --kube-version 1.29.0 or later" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- end }}
