# The module's views at 80 and 200 columns: every table fits, its header is one line (no label
# wrapped letter by letter), and what the table leaves out (the alert's link) is in Format-List.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $views = @(Get-TableView)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:AUDITORLEANS_TEST_MODULE
    # A UUID project id and a long address: the widest values the columns meet.
    $project = [guid]::NewGuid().ToString()
    $connection = Connect-AuditCluster -ProjectId $project -ApiKey (ConvertTo-SecureString (Get-TestOwnerKey) -AsPlainText -Force) -PassThru
    Enable-AuditAlert -Name HttpForbiddenErrorRateHigh -Region fr-par
    Add-AuditNotificationContact -Email 'security-operations-center@example.com'
    $webhook = Add-AuditNotificationContact -WebhookUrl 'http://127.0.0.1:9/hooks/made-by-the-format-tests' -Format Teams -Type Security, Incident
    $summary = New-ForbiddenEvent -Count 25 -ProjectId $project | Send-AuditEvent -PassThru
    $firing = Test-AuditAlert -Name ApiKeyDeletionUnauthorized -Region fr-par
    $secret = New-AuditApiKey -Role AlertsManager -ProjectId $project -Description 'a key made by the format tests' 3>$null
    $silences = @(
        New-AuditAlertSilence -Name ApiKey* -Duration 02:00:00 -Reason 'a silence made by the format tests, with a long reason'
        New-AuditAlertSilence -Name ApiKeyDeletionUnauthorized -Region fr-par -DaysOfWeek Saturday, Sunday -At 02:30 -Duration 04:00:00 -TimeZone America/Argentina/Buenos_Aires -Reason 'weekly window'
    )
    $rule = New-AuditAlertRule -Name 'format-tests-failed-sign-ins-from-one-address' -Query "event.kind == 'authentication' && event.result == 'failure' && event.source_ip.startsWith('192.0.2.')" -EvaluationWindow 01:00:00 -Occurrences 10000 -Severity Critical -DryRun
    $ruleMatches = Test-AuditAlertRule -Query 'event.status_code == 403' -EvaluationWindow 00:05:00 -Occurrences 3 3>$null
    $deadline = [DateTime]::UtcNow.AddSeconds(30)
    while (-not ($checkpoint = Get-AuditTrailCheckpoint -Region fr-par -First 1) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }

    $samples = @{
        'AuditOrleans.PowerShell.AuditClusterConnection'    = $connection
        'AuditOrleans.PowerShell.AuditAlert'                = Get-AuditAlert -Region fr-par
        'AuditOrleans.PowerShell.AuditEventSendSummary'     = $summary
        'AuditOrleans.PowerShell.AuditEventEntry'           = Get-AuditEvent -First 5
        'AuditOrleans.PowerShell.AuditAlertFiring'          = @(Get-AuditAlertHistory) + $firing
        'AuditOrleans.PowerShell.AuditAlertDelivery'        = $firing.Deliveries
        'AuditOrleans.PowerShell.AuditNotificationContact'  = Get-AuditNotificationContact -Kind Email
        'AuditOrleans.PowerShell.AuditWebhookContact'       = Get-AuditNotificationContact -Kind Webhook
        'AuditOrleans.PowerShell.AuditWebhookSecret'        = $webhook
        'AuditOrleans.PowerShell.AuditTrailIntegrityResult' = Test-AuditTrailIntegrity
        'AuditOrleans.PowerShell.AuditApiKey'               = Get-AuditApiKey -ProjectId $project
        'AuditOrleans.PowerShell.AuditApiKeySecret'         = $secret
        'AuditOrleans.PowerShell.AuditTrailCheckpoint'      = $checkpoint
        'AuditOrleans.PowerShell.AuditAlertSilence'         = $silences
        'AuditOrleans.PowerShell.AuditAlertRule'            = $rule
        'AuditOrleans.PowerShell.AuditAlertRuleMatch'       = $ruleMatches
    }

    function Show([object[]] $InputObject, [int] $Width) {
        ($InputObject | Out-String -Width $Width) -split '\r?\n'
    }
}

AfterAll {
    Disconnect-AuditCluster
}

Describe 'Formats' {
    It 'has output of every type to show' {
        foreach ($type in $samples.Keys) {
            @($samples[$type]).Count | Should -BeGreaterThan 0 -Because "$type needs a sample"
            @($samples[$type])[0].PSObject.TypeNames | Should -Contain $type
        }
    }

    It '<TypeName> fits in <Width> columns with a one-line header' -ForEach @(
        foreach ($view in $views) { foreach ($width in 80, 200) { @{ TypeName = $view.TypeName; Labels = $view.Labels; Width = $width } } }
    ) {
        $lines = Show $samples[$TypeName] $Width
        $lines | Where-Object Length -GT $Width | Should -BeNullOrEmpty -Because "no line may be wider than $Width columns"
        $rule = [array]::FindIndex([string[]] $lines, [Predicate[string]] { param($line) $line -match '^\s*-+( +-+)*\s*$' })
        $rule | Should -BeGreaterThan 0 -Because 'a table has a header rule'
        foreach ($label in $Labels) {
            $lines[$rule - 1] | Should -Match ([regex]::Escape($label)) -Because "the header shows the whole label '$label' on one line"
        }
        $lines[$rule - 2].Trim() | Should -BeNullOrEmpty -Because 'the header is one line'
        ($lines[($rule + 1)..($lines.Count - 1)] | Where-Object { $_.Trim() }).Count | Should -BeGreaterOrEqual @($samples[$TypeName]).Count
    }

    It 'shows a new webhook''s secret whole at 80 columns' {
        Show $webhook 80 | Where-Object { $_ -match '^Secret\s*: ' } | Should -Match ([regex]::Escape($webhook.Secret))
    }

    It 'shows email and webhook contacts in one table' {
        $lines = Show (Get-AuditNotificationContact) 80
        @($lines | Where-Object { $_ -match '^\s*-+( +-+)*\s*$' }).Count | Should -Be 1
        $lines | Where-Object { $_ -match '^Webhook +Teams http://127\.0\.0\.1:9/hooks/' } | Should -Not -BeNullOrEmpty
    }

    It 'shows a new key''s secret whole at 80 columns' {
        Show $secret 80 | Where-Object { $_ -match '^Secret\s*: ' } | Should -Match ([regex]::Escape($secret.Secret))
    }

    It 'shows the link of a firing in Format-List, and as a hyperlink column in the table' {
        $list = ($firing | Format-List | Out-String -Width 80) -replace '\r?\n\s+', ''
        $list | Should -Match ('Link\s*: ' + [regex]::Escape($firing.Link))
        $firing.Link | Should -Match '^http://.+/audit-trail\?project_id='
        $PSStyle.FormatHyperlink('open', [uri] $firing.Link) | Should -Match ([regex]::Escape($firing.Link))
    }
}
