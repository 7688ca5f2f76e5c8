#
# Module manifest of AuditOrleans. ModuleVersion (and Prerelease) are stamped at build time
# from the Version of Directory.Build.props: the copy in artifacts/module/AuditOrleans is the one
# to import.
#
@{
    RootModule           = 'AuditOrleans.psm1'
    ModuleVersion        = '0.0.0'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.4'
    GUID                 = '5b0d6b8e-2f6c-4f1e-9f3a-6d2b8a4c1e77'
    Author               = 'AuditOrleans contributors'
    CompanyName          = 'AuditOrleans'
    Copyright            = 'Copyright (c) AuditOrleans contributors'
    Description          = 'Drive an AuditOrleans audit-trail alerting engine: switch the preconfigured alerts on and off per project and region, send and query audit events, manage notification contacts, read the alert history, silence alerts for planned work, take and close firings, and verify the tamper-evident log.'

    # Loads the cmdlets and their dependencies (Orleans, Microsoft.Extensions.*) into the
    # module's own AssemblyLoadContext; nothing else is loaded into the shell's default context.
    RequiredAssemblies   = @('AuditOrleans.PowerShell.Loader.dll')
    FormatsToProcess     = @('AuditOrleans.Format.ps1xml')

    CmdletsToExport      = @(
        'Connect-AuditCluster'
        'Disconnect-AuditCluster'
        'Get-AuditAlert'
        'Enable-AuditAlert'
        'Disable-AuditAlert'
        'Send-AuditEvent'
        'Get-AuditEvent'
        'Export-AuditEvent'
        'Get-AuditAlertHistory'
        'Add-AuditNotificationContact'
        'Get-AuditNotificationContact'
        'Remove-AuditNotificationContact'
        'Reset-AuditNotificationContactSecret'
        'Test-AuditAlert'
        'New-AuditAlertSilence'
        'Get-AuditAlertSilence'
        'Stop-AuditAlertSilence'
        'Confirm-AuditAlertFiring'
        'Close-AuditAlertFiring'
        'Test-AuditTrailIntegrity'
        'Get-AuditTrailCheckpoint'
        'New-AuditApiKey'
        'Get-AuditApiKey'
        'Remove-AuditApiKey'
        'New-AuditAlertRule'
        'Get-AuditAlertRule'
        'Set-AuditAlertRule'
        'Remove-AuditAlertRule'
        'Test-AuditAlertRule'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()

    PrivateData          = @{
        PSData = @{
            Tags       = @('Audit', 'AuditTrail', 'Alerting', 'Security', 'Orleans', 'PSEdition_Core', 'Linux', 'Windows', 'MacOS')
        }
    }
}
