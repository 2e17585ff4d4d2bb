{{/*
Names, labels and the few derived values every template shares. All names are computed here,
once, so RBAC resourceNames always match what the controller is told to use.
*/}}

{{- define "version-observer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "version-observer.fullname" -}}
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

{{- define "version-observer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "version-observer.instanceLabels" -}}
app.kubernetes.io/name: {{ include "version-observer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selects the controller pods (and nothing else: the helm test pod is component=test). */}}
{{- define "version-observer.selectorLabels" -}}
{{ include "version-observer.instanceLabels" . }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "version-observer.commonLabels" -}}
helm.sh/chart: {{ include "version-observer.chart" . }}
{{ include "version-observer.instanceLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: version-observer
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "version-observer.labels" -}}
{{ include "version-observer.commonLabels" . }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "version-observer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "version-observer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "version-observer.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "version-observer.leaseName" -}}
{{- default (include "version-observer.fullname" .) .Values.controller.leaderElection.leaseName }}
{{- end }}

{{/* The one Secret the controller may read. */}}
{{- define "version-observer.signingKeySecret" -}}
{{- if eq .Values.signingKey.source "existing" }}
{{- required "signingKey.existingSecret is required when signingKey.source is existing" .Values.signingKey.existingSecret }}
{{- else }}
{{- default (printf "%s-signing-key" (include "version-observer.fullname" .)) .Values.signingKey.secretName | trunc 253 }}
{{- end }}
{{- end }}

{{- define "version-observer.serviceHost" -}}
{{- printf "%s.%s.svc" (include "version-observer.fullname" .) .Release.Namespace }}
{{- end }}

{{- /* --- sidecar injection webhook (templates/webhook.yaml) --- */}}
{{- define "version-observer.webhookService" -}}
{{- printf "%s-webhook" (include "version-observer.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "version-observer.webhookSecret" -}}
{{- printf "%s-webhook-tls" (include "version-observer.fullname" .) | trunc 253 }}
{{- end }}

{{/* Cluster-scoped: the namespace is in the name, so two releases of the same name do not collide. */}}
{{- define "version-observer.webhookConfig" -}}
{{- printf "%s.%s" (include "version-observer.fullname" .) .Release.Namespace | trunc 253 | trimSuffix "." }}
{{- end }}

{{- define "version-observer.sidecarImage" -}}
{{- default (include "version-observer.image" .) .Values.injection.sidecarImage }}
{{- end }}
