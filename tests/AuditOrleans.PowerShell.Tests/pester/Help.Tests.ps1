# Help as users read it: every cmdlet has a synopsis and a description, every parameter a
# description and its real aliases, every example real text; every example parses, and those
# that need nothing but a silo run against the test silo without an error.

BeforeDiscovery {
    Import-Module $env:AUDITORLEANS_TEST_MODULE
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
    $commands = @(
        foreach ($command in Get-Command -Module AuditOrleans) {
            $parameters = @(
                foreach ($parameter in $command.Parameters.Values) {
                    $hidden = $parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow }
                    if ($parameter.Name -notin $common -and -not $hidden) {
                        @{ Parameter = $parameter.Name; Aliases = (@($parameter.Aliases) -join ', ') }
                    }
                }
            )
            @{ Name = $command.Name; Parameters = $parameters }
        }
    )
    $examples = @(
        foreach ($command in Get-Command -Module AuditOrleans) {
            $number = 0
            foreach ($example in (Get-Help $command.Name -Examples).examples.example) {
                $number++
                @{
                    Command = $command.Name
                    Number  = $number
                    Title   = ($example.title -replace '^-+\s*Example \d+:\s*|\s*-+$', '')
                    Code    = $example.code
                    Remarks = (@($example.remarks | ForEach-Object Text) -join ' ').Trim()
                }
            }
        }
    )

    # Examples that need more than a silo, and why; the others run against the test silo.
    $needMore = @{
        'Connect-AuditCluster #2'     = 'gateways silo1 and silo2 exist only in the example'
        'Connect-AuditCluster #3'     = 'Get-Secret needs SecretManagement and a vault; audit.example.com is the example''s host'
        'Connect-AuditCluster #4'     = 'a silo with TLS and its certificate (TlsConnectTests.cs covers TLS)'
        'New-AuditApiKey #1'          = 'Set-Secret needs SecretManagement and a vault'
        'Remove-AuditApiKey #1'       = 'the key id exists only in the example'
        'Get-AuditTrailCheckpoint #1' = 'writes to the share \\vault, which the test machine does not have'
        'Get-AuditTrailCheckpoint #2' = 'reads from the share \\vault'
        'Test-AuditTrailIntegrity #3' = 'writes to and reads from the share \\vault'
        'Confirm-AuditAlertFiring #2' = 'the firing id exists only in the example'
        'Close-AuditAlertFiring #2'   = 'the firing id exists only in the example'
        'Send-AuditEvent #2'          = 'reads export-2025.jsonl, a file of last year''s events the test machine does not have'
        'Add-AuditNotificationContact #3' = 'soc.example.com is the example''s receiver, which the silo resolves and the test machine cannot'
        'Add-AuditNotificationContact #4' = '$env:SLACK_WEBHOOK_URL holds a Slack webhook URL only in the example'
        'Reset-AuditNotificationContactSecret #2' = 'the webhook exists only in the example'
    }
    foreach ($example in $examples) {
        $example.Reason = $needMore["$($example.Command) #$($example.Number)"]
    }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:AUDITORLEANS_TEST_MODULE
}

Describe 'Help of <Name>' -ForEach $commands {
    BeforeAll {
        $help = Get-Help $Name -Full
        $text = $help | Out-String -Width 250
    }

    It 'has a synopsis and a description' {
        $help.Synopsis.Trim() | Should -Not -BeNullOrEmpty
        $help.Synopsis.Trim() | Should -Not -BeLike "$Name*" -Because 'a synopsis is a sentence, not the generated syntax'
        (@($help.description | ForEach-Object Text) -join ' ').Trim() | Should -Not -BeNullOrEmpty
    }

    It 'has examples' {
        @($help.examples.example).Count | Should -BeGreaterThan 0
    }

    It '-<Parameter> has a description and shows its aliases' -ForEach $Parameters {
        $entry = $help.parameters.parameter | Where-Object name -EQ $Parameter
        $entry | Should -Not -BeNullOrEmpty -Because "-$Parameter is in the help"
        (@($entry.description | ForEach-Object Text) -join ' ').Trim() | Should -Not -BeNullOrEmpty
        "$($entry.aliases)" | Should -Be $(if ($Aliases) { $Aliases } else { 'None' })
        # The parameter's block in Get-Help -Full shows an Aliases row.
        $text | Should -Match "(?s)\n\s+-$Parameter\b.*?\n\s+Aliases\s+$([regex]::Escape($(if ($Aliases) { $Aliases } else { 'none' })))"
    }
}

Describe 'Examples' {
    BeforeAll {
        $project = New-TestProjectId 'help'
        $work = Join-Path ([System.IO.Path]::GetTempPath()) "auditorleans-help-$([guid]::NewGuid().ToString('N'))"
        New-Item -ItemType Directory $work | Out-Null
        # What the examples read: an export, a CSV file, a contact and some events.
        New-ForbiddenEvent -Count 3 -ProjectId $project | ForEach-Object { $_ | ConvertTo-Json -Compress } | Set-Content (Join-Path $work 'export.jsonl')
        New-ForbiddenEvent -Count 3 -ProjectId $project | Select-Object recorded_at, locality, project_id, source_ip, product_name, method_name, status_code |
            Export-Csv (Join-Path $work 'events.csv')

        $session = [runspacefactory]::CreateRunspace()
        $session.Open()
        $session.SessionStateProxy.Path.SetLocation($work) | Out-Null
        $session.SessionStateProxy.SetVariable('ConfirmPreference', 'None')
        $session.SessionStateProxy.SetVariable('id', 'user-1')
        $session.SessionStateProxy.SetVariable('userId', 'user-1')
        $key = Get-TestOwnerKey

        function Invoke-InSession([string] $Script) {
            $ps = [powershell]::Create()
            $ps.Runspace = $session
            $null = $ps.AddScript($Script).AddCommand('Out-String')
            $problems = @()
            try { $null = $ps.Invoke() }
            catch { $problems += $_.Exception.InnerException.ErrorRecord ?? $_ }
            $problems += @($ps.Streams.Error)
            $ps.Dispose()
            $problems | ForEach-Object { "[$($_.FullyQualifiedErrorId)] $_" }
        }

        $connect = "Import-Module '$env:AUDITORLEANS_TEST_MODULE'; Connect-AuditCluster -ProjectId $project -ApiKey '$key'"
        Invoke-InSession "$connect; Add-AuditNotificationContact -Email security@example.com, former.admin@example.com, ops@old.example.com; Get-Content export.jsonl | ConvertFrom-Json | Send-AuditEvent" |
            Should -BeNullOrEmpty
    }

    AfterAll {
        $session.Dispose()
        Remove-Item -Recurse -Force $work
    }

    It '<Command> example <Number> has text of its own' -ForEach $examples {
        $Remarks | Should -Not -BeNullOrEmpty
        $Remarks.TrimEnd('.') | Should -Not -Be $Title.TrimEnd('.') -Because 'the text says more than the title'
    }

    It '<Command> example <Number> parses' -ForEach $examples {
        $errors = $null
        [System.Management.Automation.Language.Parser]::ParseInput($Code, [ref] $null, [ref] $errors) | Out-Null
        $errors | Should -BeNullOrEmpty
    }

    It '<Command> example <Number> runs against the test silo' -ForEach $examples {
        if ($Reason) {
            Set-ItResult -Skipped -Because $Reason
            return
        }

        Invoke-InSession $Code | Should -BeNullOrEmpty -Because "example: $Code"
        if ($Code -match 'Connect-AuditCluster|Disconnect-AuditCluster') {
            Invoke-InSession $connect | Should -BeNullOrEmpty
        }
    }
}
