# Tab completion in a real shell: alert names, regions, projects, contacts and gateways complete
# known values, and never file names (an empty completer answer would make PowerShell offer them).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:AUDITORLEANS_TEST_MODULE
    $project = New-TestProjectId 'complete'
    Connect-TestCluster -ProjectId $project
    Add-AuditNotificationContact -Email soc@example.com, oncall@example.com

    # Completion runs where files are around to be offered.
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "auditorleans-complete-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory $work | Out-Null
    'a', 'so-file.txt', 'prod.csv' | ForEach-Object { New-Item -ItemType File (Join-Path $work $_) | Out-Null }
    Push-Location $work

    function Complete([string] $Line) {
        @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches | ForEach-Object CompletionText)
    }
}

AfterAll {
    Pop-Location
    Remove-Item -Recurse -Force $work
    Disconnect-AuditCluster
}

Describe 'Tab completion' {
    It 'completes alert names and regions' {
        Complete 'Enable-AuditAlert -Name Http' | Should -Be @('HttpForbiddenErrorRateHigh')
        Complete 'Get-AuditAlert -Name ApiKeyCr' | Should -Be @('ApiKeyCreated', 'ApiKeyCreationUnauthorized')
        Complete 'Get-AuditEvent -Region ' | Should -Be @('fr-par', 'nl-ams', 'pl-waw')
    }

    It 'completes -ProjectId of <Command> with known projects, never file names' -ForEach @(
        @{ Command = 'Get-AuditAlert' }, @{ Command = 'Send-AuditEvent' }, @{ Command = 'Connect-AuditCluster' },
        @{ Command = 'New-AuditApiKey' }, @{ Command = 'Test-AuditTrailIntegrity' }
    ) {
        $all = Complete "$Command -ProjectId "
        $all | Should -Contain $project
        $all | Should -Contain 'default'
        $all | Where-Object { $_ -match '[/\\]|\.(txt|csv)$' -or $_ -eq 'a' } | Should -BeNullOrEmpty
        Complete "$Command -ProjectId pro" | Should -Be @('pro') -Because 'what was typed stays when nothing known matches'
    }

    It 'completes -Email of <Command> with the project''s contacts, never file names' -ForEach @(
        @{ Command = 'Remove-AuditNotificationContact' }, @{ Command = 'Get-AuditNotificationContact' }, @{ Command = 'Add-AuditNotificationContact' }
    ) {
        Complete "$Command -Email " | Sort-Object | Should -Be @('oncall@example.com', 'soc@example.com')
        Complete "$Command -Email so" | Should -Be @('soc@example.com')
        Complete "$Command -Email someone.else@" | Should -Be @('someone.else@')
    }

    It 'completes silence and firing ids of the project, and time zones' {
        $silence = New-AuditAlertSilence -Name ApiKeyCreated -Duration 01:00:00 -Reason 'completion test'
        Complete 'Stop-AuditAlertSilence -Id ' | Should -Be @($silence.Id)
        Complete 'Get-AuditAlertHistory -SilenceId ' | Should -Be @($silence.Id)
        $firing = Test-AuditAlert -Name ApiKeyCreated -Region fr-par 3>$null
        Complete 'Confirm-AuditAlertFiring -Id ' | Should -Contain $firing.Id
        Complete 'Close-AuditAlertFiring -Id 0000' | Should -Be @('0000') -Because 'what was typed stays when nothing known matches'
        Complete 'New-AuditAlertSilence -TimeZone Europe/Par' | Should -Be @('Europe/Paris')
    }

    It 'completes -Gateway with the configured gateway' {
        Complete 'Connect-AuditCluster -Gateway ' | Should -Contain $env:AUDITORLEANS_GATEWAY
        Complete 'Connect-AuditCluster -Gateway ' | Where-Object { $_ -match '[/\\]' } | Should -BeNullOrEmpty
    }
}
