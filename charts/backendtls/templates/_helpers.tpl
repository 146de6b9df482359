{{/* Object names: the usual Helm conventions, cut to the 63 characters a label value and DNS label allow. */}}
{{- define "backendtls.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "backendtls.fullname" -}}
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

{{- define "backendtls.selectorLabels" -}}
app.kubernetes.io/name: {{ include "backendtls.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "backendtls.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "backendtls.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: admission-webhook
{{- end }}

{{- define "backendtls.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "backendtls.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "backendtls.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The name the API server uses for the webhook Service; the serving certificate must be valid for it. */}}
{{- define "backendtls.serviceDNSName" -}}
{{- printf "%s.%s.svc" (include "backendtls.fullname" .) .Release.Namespace }}
{{- end }}

{{/* The Secret that holds the serving pair (tls.crt, tls.key, and ca.crt except in external mode). */}}
{{- define "backendtls.servingSecretName" -}}
{{- if eq .Values.certificates.mode "external" }}
{{- required "certificates.external.secretName is required when certificates.mode is external" .Values.certificates.external.secretName }}
{{- else }}
{{- printf "%s-serving-cert" (include "backendtls.fullname" .) }}
{{- end }}
{{- end }}

{{/* The certificate-manager Certificate whose CA cert-manager's cainjector copies into the webhooks. */}}
{{- define "backendtls.certManagerCertificateName" -}}
{{- printf "%s-serving" (include "backendtls.fullname" .) }}
{{- end }}

{{/*
Namespaces no webhook ever sees: kube-system (cluster housekeeping), the release namespace (the webhook must be
able to start, and its own Secrets and leases must never wait for it) and the user's list.
*/}}
{{- define "backendtls.namespaceSelector" -}}
{{- $excluded := concat (list "kube-system" .Release.Namespace) .Values.webhooks.excludeNamespaces | uniq }}
{{- with .Values.webhook.watchNamespace }}
{{- if has . $excluded }}
{{- fail (printf "webhook.watchNamespace %q is a namespace no webhook may see (kube-system, the release namespace, webhooks.excludeNamespaces)" .) }}
{{- end }}
{{- end }}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- range $excluded }}
        - {{ . | quote }}
        {{- end }}
    {{- with .Values.webhook.watchNamespace }}
    {{- /* The webhook knows only this namespace's policies and Services: judging others against them would call
    every Service missing and every conflict absent. */}}
    - key: kubernetes.io/metadata.name
      operator: In
      values:
        - {{ . | quote }}
    {{- end }}
{{- end }}

{{/* Fields every webhook shares; ctx is the root context, path the Service path, caBundle base64 PEM or empty. */}}
{{- define "backendtls.webhookCommon" -}}
{{- $ := .ctx -}}
admissionReviewVersions: ["v1"]
sideEffects: None
matchPolicy: Equivalent
timeoutSeconds: {{ $.Values.webhooks.timeoutSeconds }}
clientConfig:
  service:
    name: {{ include "backendtls.fullname" $ }}
    namespace: {{ $.Release.Namespace }}
    path: {{ .path }}
    port: {{ $.Values.service.port }}
  {{- with .caBundle }}
  caBundle: {{ . }}
  {{- end }}
{{ include "backendtls.namespaceSelector" $ }}
{{- end }}

{{/* BackendTLSPolicy in every version the Gateway API CRDs serve. */}}
{{- define "backendtls.policyRules" -}}
rules:
  - apiGroups: ["gateway.networking.k8s.io"]
    apiVersions: ["v1", "v1alpha3", "v1alpha2"]
    resources: ["backendtlspolicies"]
    operations: ["CREATE", "UPDATE"]
    scope: Namespaced
{{- end }}

{{/* Annotations of the webhook configurations: cert-manager's cainjector fills caBundle in certManager mode. */}}
{{- define "backendtls.webhookConfigurationAnnotations" -}}
{{- if eq .Values.certificates.mode "certManager" }}
cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "backendtls.certManagerCertificateName" .) }}
{{- end }}
{{- end }}
