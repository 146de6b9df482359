{{/*
The pieces to copy into your own chart. Each takes the root context (.) and reads .Values.sidecar.

  containers:
    - name: app
      env:
        {{- include "backendtls-sidecar.appEnv" . | nindent 8 }}
    {{- include "backendtls-sidecar.container" . | nindent 4 }}

and a Role with {{ include "backendtls-sidecar.roleRules" . }}, bound to the pod's ServiceAccount.
*/}}

{{/* The sidecar container: cluster mode (--kube) in the pod's namespace, HTTP proxy on 127.0.0.1. */}}
{{- define "backendtls-sidecar.container" -}}
{{- $s := .Values.sidecar -}}
- name: backendtls-sidecar
  image: {{ printf "%s:%s" $s.image.repository (default .Chart.AppVersion $s.image.tag) | quote }}
  imagePullPolicy: {{ $s.image.pullPolicy }}
  {{- if $s.native }}
  restartPolicy: Always
  {{- end }}
  command: ["/usr/local/bin/backendtls-sidecar"]
  args:
    - --kube
    - --namespace=$(POD_NAMESPACE)
    - --listen=127.0.0.1:{{ $s.listenPort }}
    - --metrics-listen=0.0.0.0:{{ $s.metricsPort }}
    - --ca-ref-kind=ConfigMap
    {{- if $s.secretCARefs }}
    - --ca-ref-kind=Secret
    {{- end }}
    {{- if $s.requirePolicy }}
    - --require-policy
    {{- end }}
    {{- range $s.routes }}
    - --route={{ . }}
    {{- end }}
    - --log-level={{ $s.logLevel }}
    {{- range $s.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  env:
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
  ports:
    - name: sidecar-metrics
      containerPort: {{ $s.metricsPort }}
      protocol: TCP
  readinessProbe:
    httpGet:
      path: /readyz
      port: sidecar-metrics
    periodSeconds: 5
  livenessProbe:
    httpGet:
      path: /healthz
      port: sidecar-metrics
    periodSeconds: 10
  resources:
    {{- toYaml $s.resources | nindent 4 }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: ["ALL"]
    seccompProfile:
      type: RuntimeDefault
{{- end }}

{{/* The app's environment: plain HTTP goes to the sidecar (both spellings: curl reads only the lower-case one). */}}
{{- define "backendtls-sidecar.appEnv" -}}
{{- $proxy := printf "http://127.0.0.1:%v" .Values.sidecar.listenPort -}}
- name: HTTP_PROXY
  value: {{ $proxy | quote }}
- name: http_proxy
  value: {{ $proxy | quote }}
- name: NO_PROXY
  value: {{ .Values.app.noProxy | quote }}
- name: no_proxy
  value: {{ .Values.app.noProxy | quote }}
{{- end }}

{{/*
What backendtls-sidecar --kube reads in its namespace: it watches policies and Services, and watches the ConfigMaps
(and Secrets) that policies reference by name with a fieldSelector, which needs list and watch besides get.
*/}}
{{- define "backendtls-sidecar.roleRules" -}}
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["backendtlspolicies"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["list", "watch"]
{{- if .Values.sidecar.secretCARefs }}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["list", "watch"]
{{- end }}
{{- end }}
