{{- define "extension.name" -}}
gardener-extension-{{ .Values.serviceName }}
{{- end -}}

{{- define "extension.labels" -}}
app.kubernetes.io/name: {{ include "extension.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "extension.image" -}}
{{- if kindIs "string" .Values.image -}}
{{ .Values.image }}
{{- else if hasPrefix "sha256:" (toString .Values.image.tag) -}}
{{ .Values.image.repository }}@{{ .Values.image.tag }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
{{- end -}}

{{- define "extension.leaderElectionId" -}}
{{ .Values.serviceName }}-leader-election
{{- end -}}
