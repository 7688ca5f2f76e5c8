# Shared by the Pester tests: the environment PesterTests.cs sets, and small builders.
#   AUDITORLEANS_TEST_DIRECTORY  where the test silo runs (its data/ with owner.key)
#   AUDITORLEANS_TEST_MODULE     the staged module manifest
#   AUDITORLEANS_TEST_README     README.md of the checkout
#   AUDITORLEANS_GATEWAY         the test silo's gateway (Connect-AuditCluster's default)

function Get-TestOwnerKey {
    Get-Content -LiteralPath (Join-Path $env:AUDITORLEANS_TEST_DIRECTORY 'data/owner.key')
}

function New-TestProjectId([string] $Prefix = 'pester') {
    "$Prefix-" + [guid]::NewGuid().ToString('N').Substring(0, 12)
}

# Connects the session to the test silo with the Owner key, as a SecureString.
function Connect-TestCluster([Parameter(Mandatory)] [string] $ProjectId) {
    $key = ConvertTo-SecureString (Get-TestOwnerKey) -AsPlainText -Force
    Connect-AuditCluster -ProjectId $ProjectId -ApiKey $key
}

# HTTP 403 events of the last minutes in fr-par, as a provider export's objects.
function New-ForbiddenEvent([int] $Count = 25, [string] $ProjectId) {
    foreach ($i in 1..$Count) {
        [pscustomobject]@{
            recorded_at  = [DateTimeOffset]::UtcNow.AddSeconds(-$i).ToString('o')
            locality     = 'fr-par'
            project_id   = $ProjectId
            principal    = [pscustomobject]@{ id = "user-$($i % 3)" }
            source_ip    = "192.0.2.$($i % 5)"
            product_name = 'instance'
            method_name  = 'ListServers'
            status_code  = 403
        }
    }
}

# The table views of the module's format file: type name and column labels.
function Get-TableView {
    [xml] $formats = Get-Content -Raw -LiteralPath (Join-Path (Split-Path $env:AUDITORLEANS_TEST_MODULE) 'AuditOrleans.Format.ps1xml')
    foreach ($view in $formats.Configuration.ViewDefinitions.View) {
        if ($view.TableControl) {
            # A view may serve several types (the email and webhook contacts share one table): each is checked.
            foreach ($typeName in @($view.ViewSelectedBy.TypeName)) {
                @{ TypeName = $typeName; Labels = @($view.TableControl.TableHeaders.TableColumnHeader.Label) }
            }
        }
    }
}

Export-ModuleMember -Function *
