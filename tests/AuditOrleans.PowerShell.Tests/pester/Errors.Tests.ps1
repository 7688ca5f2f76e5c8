# Errors as a shell user meets them: a stable FullyQualifiedErrorId, the right category, a
# message and a recommended action, no stack trace in the default view; -ErrorAction Stop
# turns them into terminating errors that try/catch sees.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:AUDITORLEANS_TEST_MODULE

    # Runs a line in a session of its own (connected to a fresh project unless -NotConnected)
    # and returns its error records.
    function Get-ErrorOf([string] $Script, [switch] $NotConnected, [string] $ApiKey = (Get-TestOwnerKey)) {
        $session = [runspacefactory]::CreateRunspace()
        $session.Open()
        try {
            $ps = [powershell]::Create()
            $ps.Runspace = $session
            $setup = "Import-Module '$env:AUDITORLEANS_TEST_MODULE'"
            if (-not $NotConnected) { $setup += "; Connect-AuditCluster -ProjectId $(New-TestProjectId 'errors') -ApiKey '$ApiKey' -WarningAction Ignore" }
            $null = $ps.AddScript("$setup; $Script")
            try { $null = $ps.Invoke() } catch { $_.Exception.InnerException.ErrorRecord ?? $_ }
            $ps.Streams.Error
        }
        finally {
            $session.Dispose()
        }
    }

    function Show([System.Management.Automation.ErrorRecord] $Record) {
        $ErrorView = 'ConciseView'
        $Record | Out-String -Width 120
    }
}

Describe 'Errors' {
    It 'says to connect first' {
        $record = @(Get-ErrorOf 'Get-AuditAlert' -NotConnected)[0]
        $record.FullyQualifiedErrorId | Should -BeLike 'NotConnected,*'
        $record.ErrorDetails.RecommendedAction | Should -Match 'Connect-AuditCluster'
    }

    It 'names the gateway that does not answer, without a stack trace' {
        $port = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $port.Start(); $free = $port.LocalEndpoint.Port; $port.Stop()
        $record = @(Get-ErrorOf "Connect-AuditCluster -Gateway 127.0.0.1:$free -TimeoutSec 1" -NotConnected)[0]
        $record.FullyQualifiedErrorId | Should -BeLike 'ClusterUnreachable,*'
        $record.CategoryInfo.Category | Should -Be 'ConnectionError'
        $record.Exception.Message | Should -Match "127\.0\.0\.1:$free"
        Show $record | Should -Not -Match '\n\s+at '
    }

    It 'lists the valid regions for an unknown one' {
        $record = @(Get-ErrorOf 'Enable-AuditAlert -Name HttpForbiddenErrorRateHigh -Region fr-pa')[0]
        $record.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $record.Exception.Message | Should -Match 'fr-par'
    }

    It 'is PermissionDenied with a key that does not grant the call' {
        $records = @(Get-ErrorOf 'Get-AuditApiKey' -ApiKey 'ao_0123456789abcdef_not-a-real-secret-at-all-000000000000')
        $records[0].FullyQualifiedErrorId | Should -BeLike 'AccessDenied,*'
        $records[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        Show $records[0] | Should -Not -Match '\n\s+at '
    }

    It 'names the event and the field of a bad event and stores the others' {
        $records = @(Get-ErrorOf "@{ locality = 'fr-par'; status_code = 'forbidden' }, @{ locality = 'fr-par'; status_code = 403 } | ForEach-Object { [pscustomobject] `$_ } | Send-AuditEvent")
        $records.Count | Should -Be 1
        $records[0].FullyQualifiedErrorId | Should -BeLike 'InvalidAuditEvent,*'
        $records[0].Exception.Message | Should -Match 'index 0'
        $records[0].Exception.Message | Should -Match 'status_code'
    }

    It 'stops a script with -ErrorAction Stop, keeping the error id' {
        $records = @(Get-ErrorOf "try { Enable-AuditAlert -Name NoSuchAlert -Region fr-par -ErrorAction Stop; 'went on' } catch { Write-Error `$_.FullyQualifiedErrorId }")
        $records.Count | Should -Be 1
        $records[0].Exception.Message | Should -BeLike 'UnknownAlertName,*'
    }
}
