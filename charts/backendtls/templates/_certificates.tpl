{{/*
The serving pair and the CA bundle the webhooks trust, as JSON:
  {"secretData": {ca.crt, tls.crt, tls.key} (selfSigned only), "notAfter": RFC 3339 (selfSigned only),
   "caBundle": PEM the API server trusts (empty in certManager mode: cainjector fills it)}
Called once per render (admission.yaml), because selfSigned generates new keys on every call.

selfSigned reuses the Secret of an earlier release (`lookup`) while it was issued for the same Service DNS name and
stays valid for more than renewBeforeDays; otherwise it generates a new CA and serving certificate. On such a
renewal the old CA stays in caBundle next to the new one, so the API server trusts the pods that still serve the old
certificate until the kubelet has updated their Secret volume; the next upgrade drops it. The CA key is never stored.
*/}}
{{- define "backendtls.certificates" -}}
{{- $mode := .Values.certificates.mode }}
{{- if eq $mode "selfSigned" }}
{{- $dnsName := include "backendtls.serviceDNSName" . }}
{{- $cfg := .Values.certificates.selfSigned }}
{{- if le (int $cfg.validityDays) (int $cfg.renewBeforeDays) }}
{{- fail (printf "certificates.selfSigned.validityDays (%v) must exceed renewBeforeDays (%v): otherwise every upgrade reissues the CA" $cfg.validityDays $cfg.renewBeforeDays) }}
{{- end }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "backendtls.servingSecretName" .) }}
{{- $data := dig "data" dict $existing }}
{{- $annotations := dig "metadata" "annotations" dict $existing }}
{{- $reusable := and (hasKey $data "ca.crt") (hasKey $data "tls.crt") (hasKey $data "tls.key") (eq (get $annotations "backendtls.dev/dns-name") $dnsName) }}
{{- if $reusable }}
{{- $notAfter := toDate "2006-01-02T15:04:05Z07:00" (get $annotations "backendtls.dev/not-after") }}
{{- $renewAt := now | dateModify (printf "+%dh" (mul $cfg.renewBeforeDays 24 | int)) }}
{{- $reusable = gt $notAfter.Unix $renewAt.Unix }}
{{- end }}
{{- if $reusable }}
{{- dict "secretData" $data "notAfter" (get $annotations "backendtls.dev/not-after") "caBundle" (index $data "ca.crt" | b64dec) | toJson }}
{{- else }}
{{- $days := int $cfg.validityDays }}
{{- $svc := include "backendtls.fullname" . }}
{{- $ca := genCA (printf "%s webhook CA" $svc) $days }}
{{- $alternateNames := list $svc (printf "%s.%s" $svc .Release.Namespace) $dnsName (printf "%s.cluster.local" $dnsName) }}
{{- $cert := genSignedCert $dnsName nil $alternateNames $days $ca }}
{{- $notAfter := dateInZone "2006-01-02T15:04:05Z" (now | dateModify (printf "+%dh" (mul $days 24))) "UTC" }}
{{- $caBundle := $ca.Cert }}
{{- if hasKey $data "ca.crt" }}
{{- $caBundle = printf "%s\n%s" (trimSuffix "\n" $ca.Cert) (index $data "ca.crt" | b64dec) }}
{{- end }}
{{- $secretData := dict "ca.crt" ($ca.Cert | b64enc) "tls.crt" ($cert.Cert | b64enc) "tls.key" ($cert.Key | b64enc) }}
{{- dict "secretData" $secretData "notAfter" $notAfter "caBundle" $caBundle | toJson }}
{{- end }}
{{- else if eq $mode "external" }}
{{- dict "caBundle" (required "certificates.external.caBundle (the PEM of the CA that issued the serving certificate) is required when certificates.mode is external" .Values.certificates.external.caBundle) | toJson }}
{{- else }}
{{- dict "caBundle" "" | toJson }}
{{- end }}
{{- end }}
