<#
.SYNOPSIS
    Builds, tests and packages AuditOrleans and its PowerShell module.

.DESCRIPTION
    A thin wrapper over the .NET SDK for PowerShell users:

    Build    dotnet build AuditOrleans.sln. The build stages the importable module at
             artifacts/module/AuditOrleans/AuditOrleans.psd1 (manifest, formats, help, the
             loader, and bin/ with the cmdlets and all their dependencies).
    Test     dotnet test AuditOrleans.sln (the module's tests import the staged module in a
             hosted PowerShell engine and talk to a real silo).
    Package  Builds, then writes artifacts/packages/AuditOrleans.<version>.nupkg: the module
             folder as a package for a PowerShell repository (PSResourceGet or PowerShellGet).

    The version comes from Directory.Build.props (Version) and is stamped into the manifest.

.PARAMETER Task
    What to do: Build (default), Test or Package. Several may be given; they run in that order.

.PARAMETER Configuration
    Release (default) or Debug.

.EXAMPLE
    ./build.ps1
    Builds in Release; then: Import-Module ./artifacts/module/AuditOrleans/AuditOrleans.psd1

.EXAMPLE
    ./build.ps1 -Task Test -Configuration Debug
    Runs every test of the solution.

.EXAMPLE
    ./build.ps1 -Task Package
    Publish-PSResource -NupkgPath ./artifacts/packages/AuditOrleans.0.1.0.nupkg -Repository MyRepo

    Makes the module package, then pushes it to a registered PowerShell repository. A folder
    repository works too: Register-PSResourceRepository -Name Local -Uri ./artifacts/packages
    -Trusted, then Install-PSResource AuditOrleans -Repository Local.
#>

#Requires -Version 7.4

[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = $PSScriptRoot
$solution = Join-Path $root 'AuditOrleans.sln'
$moduleProject = Join-Path $root 'src/AuditOrleans.PowerShell/AuditOrleans.PowerShell.csproj'
$manifest = Join-Path $root 'artifacts/module/AuditOrleans/AuditOrleans.psd1'
$packages = Join-Path $root 'artifacts/packages'

function Invoke-DotNet {
    param([Parameter(Mandatory, ValueFromRemainingArguments)] [string[]] $Arguments)

    if (-not (Get-Command dotnet -CommandType Application -ErrorAction SilentlyContinue)) {
        throw 'The .NET SDK (dotnet) is not on PATH: install the .NET 10 SDK (see global.json), then run build.ps1 again.'
    }

    Write-Verbose "dotnet $($Arguments -join ' ')"
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "dotnet $($Arguments[0]) failed (exit code $LASTEXITCODE); see the output above."
    }
}

$ordered = @('Build', 'Test', 'Package') | Where-Object { $_ -in $Task }
foreach ($step in $ordered) {
    switch ($step) {
        'Build' {
            Invoke-DotNet build $solution --configuration $Configuration
            $module = Test-ModuleManifest -Path $manifest
            Write-Information "AuditOrleans $($module.Version) staged at $manifest" -InformationAction Continue
        }
        'Test' {
            Invoke-DotNet test $solution --configuration $Configuration
        }
        'Package' {
            if ('Build' -notin $ordered) {
                Invoke-DotNet build $moduleProject --configuration $Configuration
            }

            Invoke-DotNet pack $moduleProject --configuration $Configuration --no-build --output $packages
            $module = Test-ModuleManifest -Path $manifest
            $package = Get-ChildItem -Path $packages -Filter "AuditOrleans.$($module.Version)*.nupkg" |
                Sort-Object LastWriteTime | Select-Object -Last 1
            if (-not $package) {
                throw "dotnet pack wrote no AuditOrleans.$($module.Version)*.nupkg to $packages; see the output above."
            }

            Write-Information "Module package: $($package.FullName)" -InformationAction Continue
            $package
        }
    }
}
