<#
.SYNOPSIS
    Runs the module's Pester tests and writes a summary with every failure to a JSON file.
.DESCRIPTION
    PesterTests.cs starts a silo and runs this in a real pwsh with the environment the tests
    read (AUDITORLEANS_GATEWAY, AUDITORLEANS_TEST_DIRECTORY, AUDITORLEANS_TEST_README,
    AUDITORLEANS_TEST_MODULE); the JSON file tells it what failed.
.PARAMETER Path
    The test files, comma-separated, run in this order.
.PARAMETER ResultFile
    Where to write { Result, Passed, Failed, Skipped, Failures }.
#>
param(
    [Parameter(Mandatory)] [string] $Path,
    [Parameter(Mandatory)] [string] $ResultFile
)

$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
Import-Module Pester -RequiredVersion 5.7.1

# A loaded test machine may take longer than the 5 s a user waits for a first connection.
$global:PSDefaultParameterValues['Connect-AuditCluster:TimeoutSec'] = 60

$configuration = New-PesterConfiguration
$configuration.Run.Path = [string[]] ($Path -split ',')
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.Output.RenderMode = 'Plaintext'
$result = Invoke-Pester -Configuration $configuration

function Get-Message($errors) {
    ($errors | ForEach-Object { if ($_.DisplayErrorMessage) { $_.DisplayErrorMessage } else { "$_" } }) -join ' | '
}

$failures = @(
    foreach ($container in $result.Containers | Where-Object { $_.Result -eq 'Failed' -and $_.ErrorRecord }) {
        "$($container.Item): $(Get-Message $container.ErrorRecord)"
    }
    foreach ($block in $result.FailedBlocks) {
        "$($block.ExpandedPath) (setup): $(Get-Message $block.ErrorRecord)"
    }
    foreach ($test in $result.Failed) {
        "$($test.ExpandedPath): $(Get-Message $test.ErrorRecord)"
    }
)

[pscustomobject]@{
    Result   = "$($result.Result)"
    Passed   = $result.PassedCount
    Failed   = $result.FailedCount
    Skipped  = $result.SkippedCount
    Failures = $failures
} | ConvertTo-Json -Depth 3 | Set-Content -LiteralPath $ResultFile -Encoding utf8
