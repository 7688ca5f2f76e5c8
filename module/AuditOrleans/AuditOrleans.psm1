# The cmdlets live in bin/AuditOrleans.PowerShell.dll. The loader (a RequiredAssembly of the
# manifest) loads that assembly and everything it depends on into the module's own
# AssemblyLoadContext, so Orleans and Microsoft.Extensions.* never clash with the versions that
# PowerShell or other modules load. The cmdlets are then imported from that assembly.
$cmdlets = [AuditOrleans.PowerShell.Loader.ModuleLoader]::LoadCmdlets($PSScriptRoot)
Import-Module -Assembly $cmdlets -Force
