/** A modal confirmation (native <dialog>: focus is trapped, Escape cancels). Resolves true on Confirm. */
export function confirmAction(title: string, body: string, okLabel: string): Promise<boolean> {
  const dialog = document.getElementById('confirm') as HTMLDialogElement;
  const ok = document.getElementById('confirm-ok') as HTMLButtonElement;
  const cancel = document.getElementById('confirm-cancel') as HTMLButtonElement;
  (document.getElementById('confirm-title') as HTMLElement).textContent = title;
  (document.getElementById('confirm-body') as HTMLElement).textContent = body;
  ok.textContent = okLabel;
  return new Promise((resolve) => {
    const done = (v: boolean) => {
      ok.removeEventListener('click', yes);
      cancel.removeEventListener('click', no);
      dialog.removeEventListener('cancel', no);
      if (dialog.open) dialog.close();
      resolve(v);
    };
    const yes = () => done(true);
    const no = () => done(false);
    ok.addEventListener('click', yes);
    cancel.addEventListener('click', no);
    dialog.addEventListener('cancel', no);
    dialog.showModal();
    cancel.focus();
  });
}
