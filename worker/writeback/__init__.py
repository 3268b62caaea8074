"""Write-back: send the owned values that changed to the CRM, in batches."""
