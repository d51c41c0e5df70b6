"""gmail-oneclick: WordPress mail through Gmail after one click of Google consent."""
