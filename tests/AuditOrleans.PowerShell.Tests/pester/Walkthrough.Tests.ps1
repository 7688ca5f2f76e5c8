# The README's PowerShell walk-through, as a user types it: the blocks of README.md marked
# <!-- walkthrough -->, statement after statement, in one session, in the directory where the
# silo was started (data/ is there). A step fails on a terminating error or on any error record.
# Read from README.md at run time, so the README and this test cannot drift apart.

BeforeDiscovery {
    $readme = Get-Content -Raw -LiteralPath $env:AUDITORLEANS_TEST_README
    $blocks = [regex]::Matches($readme, '<!-- walkthrough[^>]*-->\s*```powershell\r?\n(?<code>.*?)```', 'Singleline')
    $parseErrors = @()
    $steps = @(
        foreach ($block in $blocks) {
            $code = $block.Groups['code']
            $firstLine = ($readme.Substring(0, $code.Index) -split "`n").Count
            $tokens = $errors = $null
            $ast = [System.Management.Automation.Language.Parser]::ParseInput($code.Value, [ref] $tokens, [ref] $errors)
            $parseErrors += $errors | ForEach-Object { "README.md:$($firstLine + $_.Extent.StartLineNumber - 1): $($_.Message)" }
            foreach ($statement in $ast.EndBlock.Statements) {
                @{ Line = $firstLine + $statement.Extent.StartLineNumber - 1; Text = $statement.Extent.Text }
            }
        }
    )
}

Describe 'README walk-through' {
    BeforeAll {
        $root = $env:AUDITORLEANS_TEST_DIRECTORY
        $session = [runspacefactory]::CreateRunspace()
        $session.Open()
        $session.SessionStateProxy.Path.SetLocation($root) | Out-Null
        # A user answers Yes when Remove-AuditApiKey asks for confirmation.
        $session.SessionStateProxy.SetVariable('ConfirmPreference', 'None')
        # A loaded test machine may take longer than the 5 s a user waits for the first connection.
        $session.SessionStateProxy.SetVariable('PSDefaultParameterValues', @{ 'Connect-AuditCluster:TimeoutSec' = 60 })
        $script:failedAt = $null

        # The walk-through says the silo signs a checkpoint within a minute; wait for that.
        function Wait-Checkpoint([string] $ProjectId) {
            $file = Join-Path $root 'data/checkpoints.jsonl'
            $deadline = [DateTime]::UtcNow.AddSeconds(70)
            while ([DateTime]::UtcNow -lt $deadline) {
                if ((Test-Path $file) -and (Get-Content $file | ConvertFrom-Json | Where-Object project_id -EQ $ProjectId)) { return }
                Start-Sleep -Milliseconds 200
            }
            throw "No checkpoint of $ProjectId appeared in $file within 70 s."
        }
    }

    AfterAll {
        $session.Dispose()
        Remove-Item Env:AUDITORLEANS_API_KEY -ErrorAction Ignore
    }

    It 'has its blocks in README.md, and they parse' -ForEach @{ Count = $steps.Count; ParseErrors = $parseErrors } {
        $ParseErrors | Should -BeNullOrEmpty
        $Count | Should -BeGreaterThan 10
    }

    It 'README.md:<Line>: <Text>' -ForEach $steps {
        if ($script:failedAt) {
            Set-ItResult -Skipped -Because "the step at README.md:$script:failedAt failed"
            return
        }

        $script:failedAt = $Line
        if ($Text -match 'Get-AuditTrailCheckpoint') { Wait-Checkpoint 'my-project' }

        $ps = [powershell]::Create()
        $ps.Runspace = $session
        $null = $ps.AddScript($Text).AddCommand('Out-String').AddParameter('Width', 80)
        $problems = @()
        try {
            $rendered = $ps.Invoke()
        }
        catch {
            $inner = $_.Exception.InnerException
            $problems += if ($inner -is [System.Management.Automation.IContainsErrorRecord]) { $inner.ErrorRecord } else { $_ }
        }
        $problems += @($ps.Streams.Error)
        foreach ($warning in $ps.Streams.Warning) { Write-Host "WARNING: $warning" }
        if ($rendered) { Write-Host ($rendered -join '').TrimEnd() }
        $ps.Dispose()

        if ($problems) {
            throw "README.md:$Line failed: " + (($problems | ForEach-Object { "[$($_.FullyQualifiedErrorId)] $_" }) -join ' | ')
        }
        $script:failedAt = $null
    }

    It 'fired the alert and wrote its email to data/outbox' {
        $script:failedAt | Should -BeNullOrEmpty -Because 'every step ran'
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while (-not (Get-ChildItem (Join-Path $root 'data/outbox') -Filter *.eml -ErrorAction Ignore) -and [DateTime]::UtcNow -lt $deadline) {
            Start-Sleep -Milliseconds 200
        }
        $mail = @(Get-ChildItem (Join-Path $root 'data/outbox') -Filter *.eml)
        $mail.Count | Should -Be 1
        Get-Content -Raw $mail[0].FullName | Should -Match 'HttpForbiddenErrorRateHigh|403'
    }
}
